package idp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Signing keys are stored in the database with the private key sealed by
// the keyring. The stored blob is an envelope that names the keyring key:
//
//	1 byte len(keyringKeyID) | keyringKeyID | keyring-sealed PKCS#8 DER
//
// and the seal's additional data is "signing-key:"+SigningKey.ID, so a blob
// cannot be moved to another key record.

// Algorithms the provider signs ID tokens with.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

var signingAlgs = []string{AlgRS256, AlgES256}

func signingKeyAAD(id string) []byte { return []byte("signing-key:" + id) }

func sealSigningKey(kr *keyring.Keyring, id string, priv crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal signing key %s: %w", id, err)
	}
	kid, sealed, err := kr.Seal(der, signingKeyAAD(id))
	if err != nil {
		return nil, fmt.Errorf("seal signing key %s: %w", id, err)
	}
	if len(kid) > 255 {
		return nil, fmt.Errorf("keyring key id %q is too long", kid)
	}
	out := make([]byte, 0, 1+len(kid)+len(sealed))
	out = append(out, byte(len(kid)))
	out = append(out, kid...)
	return append(out, sealed...), nil
}

func openSigningKey(kr *keyring.Keyring, k *models.SigningKey) (crypto.Signer, error) {
	kid, sealed, err := splitEnvelope(k.SealedPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	der, err := kr.Open(kid, sealed, signingKeyAAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: parse: %w", k.ID, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T is not a signer", k.ID, parsed)
	}
	switch priv := signer.(type) {
	case *rsa.PrivateKey:
		if k.Algorithm != AlgRS256 {
			return nil, fmt.Errorf("signing key %s: RSA key stored as %s", k.ID, k.Algorithm)
		}
	case *ecdsa.PrivateKey:
		if k.Algorithm != AlgES256 || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %s: EC key stored as %s", k.ID, k.Algorithm)
		}
	default:
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", k.ID, priv)
	}
	return signer, nil
}

func splitEnvelope(b []byte) (kid string, sealed []byte, err error) {
	if len(b) < 2 || int(b[0])+1 > len(b) {
		return "", nil, errors.New("sealed private key envelope is truncated")
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], nil
}

func generateSigningKey(kr *keyring.Keyring, rnd io.Reader, alg string, now time.Time) (*models.SigningKey, error) {
	id, err := randomID(rnd)
	if err != nil {
		return nil, fmt.Errorf("signing key id: %w", err)
	}
	var priv crypto.Signer
	switch alg {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rnd, 2048)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rnd)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	sealed, err := sealSigningKey(kr, id, priv)
	if err != nil {
		return nil, err
	}
	return &models.SigningKey{ID: id, Algorithm: alg, SealedPrivateKey: sealed, CreatedAt: now}, nil
}

// RotateSigningKeysOptions configures RotateSigningKeys.
type RotateSigningKeysOptions struct {
	Store   storage.Storage
	Keyring *keyring.Keyring
	Clock   func() time.Time
	Rand    io.Reader
	// KeepFor is how long retired keys stay in the JWKS: at least the
	// lifetime of the longest-lived token they signed (the ID token TTL).
	KeepFor time.Duration
}

// RotateSigningKeys generates a new RS256 and a new ES256 signing key and
// retires every older key; retired keys stay in the JWKS for KeepFor (plus
// the delay before the successors sign) so tokens they signed still
// verify. Running providers publish the new keys within
// keyRefreshInterval and sign with them after keyPublishDelay. `faceidp
// keys rotate` calls this.
func RotateSigningKeys(ctx context.Context, o RotateSigningKeysOptions) error {
	if o.Store == nil || o.Keyring == nil || o.Clock == nil || o.Rand == nil {
		return errors.New("rotate signing keys: store, keyring, clock and rand are required")
	}
	if o.KeepFor <= 0 {
		o.KeepFor = DefaultIDTokenTTL
	}
	now := o.Clock()
	rs, err := generateSigningKey(o.Keyring, o.Rand, AlgRS256, now)
	if err != nil {
		return fmt.Errorf("rotate signing keys: %w", err)
	}
	es, err := generateSigningKey(o.Keyring, o.Rand, AlgES256, now)
	if err != nil {
		return fmt.Errorf("rotate signing keys: %w", err)
	}
	// Both successors are stored and every older key retired in one
	// transaction: a failure leaves the previous keys signing.
	// A retired key keeps signing until its successor is keyPublishDelay
	// old (see keyManager), so it stays published that much longer.
	if err := o.Store.RotateSigningKeys(ctx, []*models.SigningKey{rs, es}, now, now.Add(o.KeepFor+keyPublishDelay)); err != nil {
		return fmt.Errorf("rotate signing keys: %w", err)
	}
	return nil
}

// ResealSigningKeys re-encrypts every signing key under the keyring's
// newest key (after a master key rotation); it returns how many changed.
func ResealSigningKeys(ctx context.Context, store storage.Storage, kr *keyring.Keyring) (int, error) {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("reseal signing keys: list: %w", err)
	}
	n := 0
	for i := range keys {
		k := &keys[i]
		kid, sealed, err := splitEnvelope(k.SealedPrivateKey)
		if err != nil {
			return n, fmt.Errorf("reseal signing key %s: %w", k.ID, err)
		}
		newKid, resealed, changed, err := kr.Reseal(kid, sealed, signingKeyAAD(k.ID))
		if err != nil {
			return n, fmt.Errorf("reseal signing key %s: %w", k.ID, err)
		}
		if !changed {
			continue
		}
		env := append(append([]byte{byte(len(newKid))}, newKid...), resealed...)
		if err := store.ResealSigningKey(ctx, k.ID, env); err != nil {
			return n, fmt.Errorf("reseal signing key %s: store: %w", k.ID, err)
		}
		n++
	}
	return n, nil
}

// Signing keys are served from memory. A keyManager holds a snapshot of
// the stored keys (the JWKS already encoded) and reloads it when it is
// older than keyRefreshInterval, so a rotation by `faceidp keys rotate` or
// another instance is published everywhere within that interval, at the
// cost of one database read per interval rather than one per request.
//
// So that no instance signs with a key another instance does not publish
// yet, a new key signs only once it is keyPublishDelay old (at least one
// refresh interval, doubled for clock skew between hosts); until then the
// previous key, retired but still published, keeps signing. A key that is
// the only one of its algorithm (first start) signs at once.
const (
	keyRefreshInterval = 30 * time.Second
	keyPublishDelay    = 2 * keyRefreshInterval
	// keyRetryAfterFailure spaces reload attempts while the database is
	// unreachable; the last snapshot keeps serving meanwhile.
	keyRetryAfterFailure = 5 * time.Second
)

// keyManager loads signing keys from storage, keeps a snapshot of them and
// caches the unsealed private keys by id (keys never change once written,
// except resealing, which does not change the key itself).
type keyManager struct {
	store storage.Storage
	kr    *keyring.Keyring
	clock func() time.Time
	rand  io.Reader
	// failed is called when a reload fails (the snapshot keeps serving).
	failed func(ctx context.Context, err error)

	mu    sync.Mutex
	cache map[string]crypto.Signer

	snap      atomic.Pointer[keySnapshot]
	reloading atomic.Bool
}

// keySnapshot is the stored keys as of loaded, with the public ones
// encoded as a JWKS document.
type keySnapshot struct {
	loaded    time.Time
	nextLoad  time.Time
	keys      []models.SigningKey
	published []op.Key
	jwks      []byte
}

func (m *keyManager) signer(k *models.SigningKey) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.cache[k.ID]; ok {
		return s, nil
	}
	s, err := openSigningKey(m.kr, k)
	if err != nil {
		return nil, err
	}
	m.cache[k.ID] = s
	return s, nil
}

// ensure generates an active key for every algorithm that has none (first
// start, or an interrupted rotation) and loads the snapshot.
func (m *keyManager) ensure(ctx context.Context) error {
	keys, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	for _, alg := range signingAlgs {
		if activeKey(keys, alg) != nil {
			continue
		}
		k, err := generateSigningKey(m.kr, m.rand, alg, m.clock())
		if err != nil {
			return err
		}
		if err := m.store.CreateSigningKey(ctx, k); err != nil {
			return fmt.Errorf("store new %s signing key: %w", alg, err)
		}
	}
	return m.reload(ctx)
}

// reload replaces the snapshot with the stored keys.
func (m *keyManager) reload(ctx context.Context) error {
	keys, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	now := m.clock()
	snap := &keySnapshot{loaded: now, nextLoad: now.Add(keyRefreshInterval), keys: keys}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i := range keys {
		k := &keys[i]
		if k.RemoveAfter != nil && !now.Before(*k.RemoveAfter) {
			continue
		}
		s, err := m.signer(k)
		if err != nil {
			return err
		}
		pub := &publicKey{id: k.ID, alg: jose.SignatureAlgorithm(k.Algorithm), key: s.Public()}
		snap.published = append(snap.published, pub)
		set.Keys = append(set.Keys, jose.JSONWebKey{KeyID: pub.id, Algorithm: string(pub.alg), Use: pub.Use(), Key: pub.key})
	}
	if snap.jwks, err = json.Marshal(&set); err != nil {
		return fmt.Errorf("encode JWKS: %w", err)
	}
	m.snap.Store(snap)
	return nil
}

// current returns the snapshot, reloading it first when it is due. One
// caller reloads while the others keep using the previous snapshot; a
// failed reload keeps it too and is retried a little later.
func (m *keyManager) current(ctx context.Context) *keySnapshot {
	snap := m.snap.Load()
	now := m.clock()
	if now.Before(snap.nextLoad) && !now.Before(snap.loaded) {
		return snap
	}
	if !m.reloading.CompareAndSwap(false, true) {
		return snap
	}
	defer m.reloading.Store(false)
	if err := m.reload(ctx); err != nil {
		retry := *snap
		retry.nextLoad = now.Add(keyRetryAfterFailure)
		m.snap.Store(&retry)
		if m.failed != nil {
			m.failed(ctx, err)
		}
		return &retry
	}
	return m.snap.Load()
}

// activeKey returns the newest unretired key of alg.
func activeKey(keys []models.SigningKey, alg string) *models.SigningKey {
	var best *models.SigningKey
	for i := range keys {
		k := &keys[i]
		if k.Algorithm == alg && k.RetiredAt == nil && (best == nil || k.CreatedAt.After(best.CreatedAt)) {
			best = k
		}
	}
	return best
}

// signingKeyAt returns the key of alg that signs at now: the newest
// unremoved key that is at least keyPublishDelay old, or, when there is
// none, the newest key.
func signingKeyAt(keys []models.SigningKey, alg string, now time.Time) *models.SigningKey {
	var settled, newest *models.SigningKey
	for i := range keys {
		k := &keys[i]
		if k.Algorithm != alg || (k.RemoveAfter != nil && !now.Before(*k.RemoveAfter)) {
			continue
		}
		if newest == nil || newerKey(k, newest) {
			newest = k
		}
		if !k.CreatedAt.After(now.Add(-keyPublishDelay)) && (settled == nil || newerKey(k, settled)) {
			settled = k
		}
	}
	if settled != nil {
		return settled
	}
	return newest
}

// newerKey orders keys by creation; of two created at the same instant the
// unretired one is the successor.
func newerKey(k, than *models.SigningKey) bool {
	return k.CreatedAt.After(than.CreatedAt) ||
		(k.CreatedAt.Equal(than.CreatedAt) && k.RetiredAt == nil && than.RetiredAt != nil)
}

func (m *keyManager) signingKey(ctx context.Context, alg string) (op.SigningKey, error) {
	k := signingKeyAt(m.current(ctx).keys, alg, m.clock())
	if k == nil {
		return nil, fmt.Errorf("no %s signing key", alg)
	}
	s, err := m.signer(k)
	if err != nil {
		return nil, err
	}
	return &signingKey{id: k.ID, alg: jose.SignatureAlgorithm(k.Algorithm), key: s}, nil
}

// publicKeys returns every key that may still verify tokens.
func (m *keyManager) publicKeys(ctx context.Context) []op.Key {
	return m.current(ctx).published
}

// jwks returns the encoded JWKS document.
func (m *keyManager) jwks(ctx context.Context) []byte {
	return m.current(ctx).jwks
}

var (
	_ op.SigningKey = (*signingKey)(nil)
	_ op.Key        = (*publicKey)(nil)
)

type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }
