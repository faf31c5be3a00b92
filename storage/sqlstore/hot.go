package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

// The reads every token, userinfo and introspection request makes (the
// client; an access or refresh token joined to its user) are plain SQL,
// prepared once per query and scanned by hand: gorm's statement building
// and reflective scanning cost more CPU than SQLite's lookup itself
// (docs/performance.md). The column lists below must name every column of
// their models; TestHotColumnsCoverModels fails when a model gains one they
// do not read.

// hotColumn is one column and where it is scanned to.
type hotColumn struct {
	name string
	dest any // a sql.Scanner below
}

func clientColumns(c *models.Client) []hotColumn {
	return []hotColumn{
		{"id", str{&c.ID}}, {"name", str{&c.Name}}, {"secret_hash", str{&c.SecretHash}},
		{"redirect_uris", list{&c.RedirectURIs}}, {"post_logout_redirect_uris", list{&c.PostLogoutRedirectURIs}},
		{"skip_consent", boolean{&c.SkipConsent}}, {"require_face", boolean{&c.RequireFace}},
		{"id_token_alg", str{&c.IDTokenAlg}}, {"created_at", stamp{&c.CreatedAt}}, {"updated_at", stamp{&c.UpdatedAt}},
		{"first_factors", list{&c.Policy.FirstFactors}}, {"face_mode", str{&c.Policy.FaceMode}},
		{"face_enrolment", str{&c.Policy.FaceEnrolment}}, {"passkey_skips_face", boolPtr{&c.Policy.PasskeySkipsFace}},
		{"service", boolean{&c.Service}}, {"scopes", list{&c.Scopes}}, {"disabled", boolean{&c.Disabled}},
	}
}

func userColumns(u *models.User) []hotColumn {
	return []hotColumn{
		{"id", str{&u.ID}}, {"username", str{&u.Username}}, {"email", str{&u.Email}},
		{"email_verified", boolean{&u.EmailVerified}}, {"name", str{&u.Name}}, {"password_hash", str{&u.PasswordHash}},
		{"disabled", boolean{&u.Disabled}}, {"require_face", boolean{&u.RequireFace}}, {"admin", boolean{&u.Admin}}, {"created_at", stamp{&u.CreatedAt}}, {"updated_at", stamp{&u.UpdatedAt}},
	}
}

func accessTokenColumns(t *models.AccessToken) []hotColumn {
	return []hotColumn{
		{"id", str{&t.ID}}, {"client_id", str{&t.ClientID}}, {"user_id", str{&t.UserID}},
		{"scopes", list{&t.Scopes}}, {"audience", list{&t.Audience}}, {"refresh_token_id", str{&t.RefreshTokenID}},
		{"auth_time", stamp{&t.AuthTime}}, {"amr", list{&t.AMR}}, {"expires_at", stamp{&t.ExpiresAt}}, {"created_at", stamp{&t.CreatedAt}},
	}
}

func refreshTokenColumns(t *models.RefreshToken) []hotColumn {
	return []hotColumn{
		{"id", str{&t.ID}}, {"token_hash", str{&t.TokenHash}}, {"family_id", str{&t.FamilyID}},
		{"client_id", str{&t.ClientID}}, {"user_id", str{&t.UserID}}, {"scopes", list{&t.Scopes}},
		{"audience", list{&t.Audience}}, {"auth_time", stamp{&t.AuthTime}}, {"amr", list{&t.AMR}}, {"acr", str{&t.ACR}},
		{"expires_at", stamp{&t.ExpiresAt}}, {"rotated_at", stampPtr{&t.RotatedAt}}, {"revoked_at", stampPtr{&t.RevokedAt}},
		{"created_at", stamp{&t.CreatedAt}},
	}
}

// hotQueries holds prepared statements of one connection pool, prepared
// on first use (the tables may not exist before Migrate).
type hotQueries struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns query (written with ? placeholders) prepared on db.
// The lock is not held while preparing: preparing waits for one of db's
// connections, and on SQLite's single writer that connection may belong
// to a transaction that is itself waiting for the lock to look up its
// next statement (get) — a deadlock that stopped every write for good.
// Two callers may prepare the same query at once; the second keeps the
// first's statement and closes its own.
func (h *hotQueries) prepared(ctx context.Context, db *gorm.DB, dialect Dialect, query string) (*sql.Stmt, error) {
	if st, ok := h.get(query); ok {
		return st, nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	st, err := sqlDB.PrepareContext(ctx, rebind(dialect, query))
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if first, ok := h.stmts[query]; ok {
		_ = st.Close()
		return first, nil
	}
	if h.stmts == nil {
		h.stmts = map[string]*sql.Stmt{}
	}
	h.stmts[query] = st
	return st, nil
}

// get returns query if it was prepared.
func (h *hotQueries) get(query string) (*sql.Stmt, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.stmts[query]
	return st, ok
}

func (h *hotQueries) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.stmts {
		_ = st.Close()
	}
	h.stmts = nil
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, ...
func rebind(d Dialect, query string) string {
	if d != DialectPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) closeHot() {
	s.hot.close()
	s.hotW.close()
}

// hotRow runs query (its one parameter is arg) and scans the one row into
// dests; no row is storage.ErrNotFound.
func (s *Store) hotRow(ctx context.Context, op, query string, arg any, dests []any) error {
	st, err := s.hot.prepared(ctx, s.db, s.dialect, query)
	if err != nil {
		return wrap(op, err)
	}
	if err := st.QueryRowContext(ctx, arg).Scan(dests...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op)
		}
		return wrap(op, err)
	}
	return nil
}

// The hot queries, built once from the column lists.
var (
	getClientSQL              = "SELECT " + columnList("c", clientColumns(&models.Client{})) + " FROM clients c WHERE c.id = ?"
	getAccessTokenWithUserSQL = "SELECT " + columnList("t", accessTokenColumns(&models.AccessToken{})) + ", " +
		columnList("u", userColumns(&models.User{})) + " FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?"
	getRefreshTokenWithUserSQL = "SELECT " + columnList("t", refreshTokenColumns(&models.RefreshToken{})) + ", " +
		columnList("u", userColumns(&models.User{})) + " FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?"
)

func columnList(alias string, cols []hotColumn) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = alias + "." + c.name
	}
	return strings.Join(names, ", ")
}

// dests are the scan destinations of cols, in order.
func dests(cols ...[]hotColumn) []any {
	var out []any
	for _, cs := range cols {
		for _, c := range cs {
			out = append(out, c.dest)
		}
	}
	return out
}

func (s *Store) GetClient(ctx context.Context, id string) (*models.Client, error) {
	var c models.Client
	if err := s.hotRow(ctx, "get client", getClientSQL, id, dests(clientColumns(&c))); err != nil {
		return nil, err
	}
	normTimes(&c)
	return &c, nil
}

func (s *Store) GetAccessTokenWithUser(ctx context.Context, id string) (*models.AccessToken, *models.User, error) {
	var t models.AccessToken
	var u models.User
	if err := s.hotRow(ctx, "get access token with user", getAccessTokenWithUserSQL, id, dests(accessTokenColumns(&t), userColumns(&u))); err != nil {
		return nil, nil, err
	}
	normTimes(&t)
	normTimes(&u)
	return &t, &u, nil
}

func (s *Store) GetRefreshTokenWithUser(ctx context.Context, hash string) (*models.RefreshToken, *models.User, error) {
	var t models.RefreshToken
	var u models.User
	if err := s.hotRow(ctx, "get refresh token with user", getRefreshTokenWithUserSQL, hash, dests(refreshTokenColumns(&t), userColumns(&u))); err != nil {
		return nil, nil, err
	}
	normTimes(&t)
	normTimes(&u)
	return &t, &u, nil
}

// --- scanners (NULL is the zero value, as gorm reads it) and the values
// they insert (what gorm would write) ------------------------------------------------

// valuer is the value a column's field inserts.
type valuer interface{ value() any }

func (d str) value() any     { return *d.p }
func (d boolean) value() any { return *d.p }
func (d stamp) value() any   { return norm(*d.p) }
func (d boolPtr) value() any {
	if *d.p == nil {
		return nil
	}
	return **d.p
}
func (d stampPtr) value() any {
	if *d.p == nil {
		return nil
	}
	return norm(**d.p)
}

// value is gorm's JSON serializer: NULL for a nil list.
func (d list) value() any {
	if *d.p == nil {
		return nil
	}
	b, _ := json.Marshal(*d.p) // []string always encodes
	return string(b)
}

type str struct{ p *string }

func (d str) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.p = ""
	case string:
		*d.p = v
	case []byte:
		*d.p = string(v)
	default:
		return fmt.Errorf("scan %T into a string", v)
	}
	return nil
}

type boolean struct{ p *bool }

func (d boolean) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.p = false
	case bool:
		*d.p = v
	case int64: // SQLite
		*d.p = v != 0
	default:
		return fmt.Errorf("scan %T into a bool", v)
	}
	return nil
}

// boolPtr is a nullable boolean: NULL scans to nil.
type boolPtr struct{ p **bool }

func (d boolPtr) Scan(v any) error {
	if v == nil {
		*d.p = nil
		return nil
	}
	var b bool
	if err := (boolean{&b}).Scan(v); err != nil {
		return err
	}
	*d.p = &b
	return nil
}

type stamp struct{ p *time.Time }

func (d stamp) Scan(v any) error {
	t, err := scanTime(v)
	*d.p = t
	return err
}

type stampPtr struct{ p **time.Time }

func (d stampPtr) Scan(v any) error {
	if v == nil {
		*d.p = nil
		return nil
	}
	t, err := scanTime(v)
	*d.p = &t
	return err
}

func scanTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v, nil
	default:
		return time.Time{}, fmt.Errorf("scan %T into a time", v)
	}
}

// list is a []string stored as JSON text (gorm's json serializer).
type list struct{ p *[]string }

func (d list) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case nil:
		*d.p = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan %T into a JSON list", v)
	}
	if len(b) == 0 {
		*d.p = nil
		return nil
	}
	if out, ok := simpleList(b); ok {
		*d.p = out
		return nil
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("decode JSON list: %w", err)
	}
	*d.p = out
	return nil
}

// simpleList decodes the common case of a JSON list of strings without
// escapes or whitespace (scopes, audiences, amr values) without
// encoding/json; anything else reports false.
func simpleList(b []byte) ([]string, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	body := b[1 : len(b)-1]
	if len(body) == 0 {
		return []string{}, true
	}
	out := make([]string, 0, 4)
	for {
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := 1
		for end < len(body) && body[end] != '"' {
			if body[end] == '\\' || body[end] < 0x20 {
				return nil, false
			}
			end++
		}
		if end == len(body) {
			return nil, false
		}
		out = append(out, string(body[1:end]))
		body = body[end+1:]
		if len(body) == 0 {
			return out, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = body[1:]
	}
}
