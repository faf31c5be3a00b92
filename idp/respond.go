package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// noStore marks a response that carries tokens or claims uncacheable
// (RFC 6749 §5.1; Pragma for HTTP/1.0 caches).
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// unavailableJSON answers an API request during a storage outage: 503, no
// detail.
func unavailableJSON(w http.ResponseWriter) {
	h := w.Header()
	noStore(h)
	h.Set("Retry-After", "5")
	writeJSON(w, http.StatusServiceUnavailable, &oidc.Error{ErrorType: "temporarily_unavailable",
		Description: "the service is temporarily unavailable; retry later"})
}

// limitReached reports whether key has used up l's rate (as many events
// in the period as the limit allows), without counting one. A limiter that
// fails lets the request through (and says so in the log, sampled): an
// outage of the counters must not lock everyone out.
func (s *Server) limitReached(ctx context.Context, l *limiter.Limiter, key string) bool {
	lc, err := l.Peek(ctx, key)
	if err != nil {
		s.limiterFailed(ctx, err)
		return false
	}
	return lc.Reached || lc.Remaining == 0
}

// count counts one event under key and reports whether it went past l's
// rate (the limit's own last event is still within it).
func (s *Server) count(ctx context.Context, l *limiter.Limiter, key string) bool {
	lc, err := l.Get(ctx, key)
	if err != nil {
		s.limiterFailed(ctx, err)
		return false
	}
	return lc.Reached
}

func (s *Server) limiterFailed(ctx context.Context, err error) {
	s.limiterLog.log(ctx, s, "rate limiter failed; requests are not limited meanwhile", err)
}

// --- storage outages -------------------------------------------------------------

// storageUnavailable records that the database failed while serving this
// request: the response becomes a 503 without detail (see opWriter), and
// the failure is logged at most once per sampleEvery.
func (s *Server) storageUnavailable(ctx context.Context, err error) {
	stateFrom(ctx).unavailable = true
	s.outageLog.log(ctx, s, "storage unavailable; answering 503", err)
}

// sampledLog logs an error at most once per sampleEvery, with how many
// were suppressed since: an outage under load must not write a line per
// request.
type sampledLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed atomic.Int64
}

const sampleEvery = 10 * time.Second

func (l *sampledLog) log(ctx context.Context, s *Server, msg string, err error) {
	now := s.clock()
	l.mu.Lock()
	if !l.last.IsZero() && now.Sub(l.last) < sampleEvery {
		l.mu.Unlock()
		l.suppressed.Add(1)
		return
	}
	l.last = now
	l.mu.Unlock()
	s.log.ErrorContext(ctx, msg, "err", err, "suppressed_since_last", l.suppressed.Swap(0))
}

// opWriter stands between op and the client. op turns a storage error
// into whatever its endpoint answers for a bad request (invalid_grant for
// a code, "revoked" at userinfo, an inactive token at introspection); when
// a storage call failed during the request (reqState.unavailable), the
// response op writes is replaced by outage(). op's headers are kept aside
// until then, so a redirect's Location never leaks into the 503.
type opWriter struct {
	w       http.ResponseWriter
	st      *reqState
	outage  func(http.ResponseWriter)
	h       http.Header
	wrote   bool
	dropped bool
}

func (o *opWriter) Header() http.Header { return o.h }

func (o *opWriter) WriteHeader(code int) {
	if o.wrote {
		return
	}
	o.wrote = true
	if o.st.unavailable {
		o.dropped = true
		o.outage(o.w)
		return
	}
	dst := o.w.Header()
	for k, v := range o.h {
		dst[k] = v
	}
	o.w.WriteHeader(code)
}

func (o *opWriter) Write(b []byte) (int, error) {
	if !o.wrote {
		o.WriteHeader(http.StatusOK)
	}
	if o.dropped {
		return len(b), nil
	}
	return o.w.Write(b)
}

// serveOP hands the request to op; a storage outage during it becomes
// outage()'s response.
func (s *Server) serveOP(w http.ResponseWriter, r *http.Request, outage func(http.ResponseWriter)) {
	ow := &opWriter{w: w, st: stateFrom(r.Context()), outage: outage, h: http.Header{}}
	s.provider.ServeHTTP(ow, r)
	if !ow.wrote && ow.st.unavailable {
		ow.WriteHeader(http.StatusOK) // op wrote nothing at all
	}
}
