package config

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/faceidp/faceidp/keyring"
)

// DemoSecretsFile is the file in the data directory that keeps secrets
// generated in demo mode, so they survive restarts.
const DemoSecretsFile = "demo-secrets.yaml"

// Keys are the decoded secrets.
type Keys struct {
	CookieHash  []byte
	CookieBlock []byte
	Token       [32]byte
	// Master is ordered oldest to newest, ready for keyring.New.
	Master []keyring.Key
}

// Keys decodes the configured secrets. Load has validated them, so an error
// here means the Config was modified afterwards.
func (c *Config) Keys() (Keys, error) {
	var k Keys
	var err error
	decode := func(key, value string) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		if b, err = decodeKey(value); err != nil {
			err = fmt.Errorf("%s: %w", key, err)
		}
		return b
	}
	k.CookieHash = decode("secrets.cookie_hash_key", c.Secrets.CookieHashKey)
	k.CookieBlock = decode("secrets.cookie_block_key", c.Secrets.CookieBlockKey)
	token := decode("secrets.token_key", c.Secrets.TokenKey)
	for i, mk := range c.Secrets.MasterKeys {
		k.Master = append(k.Master, keyring.Key{ID: mk.ID, Secret: decode(fmt.Sprintf("secrets.master_keys[%d].key", i), mk.Key)})
	}
	if err != nil {
		return Keys{}, err
	}
	if len(token) != len(k.Token) {
		return Keys{}, fmt.Errorf("secrets.token_key: must decode to 32 bytes, got %d", len(token))
	}
	copy(k.Token[:], token)
	if len(k.Master) == 0 {
		return Keys{}, fmt.Errorf("secrets.master_keys: no key configured")
	}
	return k, nil
}

// Keyring builds the keyring from the master keys.
func (c *Config) Keyring(random io.Reader) (*keyring.Keyring, error) {
	k, err := c.Keys()
	if err != nil {
		return nil, err
	}
	return keyring.New(k.Master, random)
}

// GenerateSecrets returns a complete, random secrets section (for
// `faceidp secrets generate` and demo mode). keyID names the master key.
func GenerateSecrets(random io.Reader, keyID string) (Secrets, error) {
	var s Secrets
	var err error
	gen := func(n int) string {
		if err != nil {
			return ""
		}
		b := make([]byte, n)
		if _, err = io.ReadFull(random, b); err != nil {
			err = fmt.Errorf("generate secret: %w", err)
			return ""
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	s.CookieHashKey = gen(64)
	s.CookieBlockKey = gen(32)
	s.TokenKey = gen(32)
	s.MasterKeys = []MasterKey{{ID: keyID, Key: gen(32)}}
	return s, err
}

// ensureDemoSecrets fills every secret the configuration lacks from the demo
// secrets file in the data directory, generating and persisting the ones the
// file lacks too. Secrets given by configuration are never written to disk.
func ensureDemoSecrets(c *Config, random io.Reader, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if random == nil {
		random = rand.Reader
	}
	path := c.DemoSecretsPath()
	var stored Secrets
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := yaml.Unmarshal(data, &stored); err != nil {
			return fmt.Errorf("read demo secrets %s: %w", path, err)
		}
	case os.IsNotExist(err):
	default:
		return fmt.Errorf("read demo secrets: %w", err)
	}
	fresh, err := GenerateSecrets(random, "demo-1")
	if err != nil {
		return err
	}

	var generated []string
	fill := func(key string, cfgVal, storedVal *string, freshVal string) {
		if *cfgVal != "" {
			return
		}
		if *storedVal == "" {
			*storedVal = freshVal
			generated = append(generated, key)
		}
		*cfgVal = *storedVal
	}
	fill("secrets.cookie_hash_key", &c.Secrets.CookieHashKey, &stored.CookieHashKey, fresh.CookieHashKey)
	fill("secrets.cookie_block_key", &c.Secrets.CookieBlockKey, &stored.CookieBlockKey, fresh.CookieBlockKey)
	fill("secrets.token_key", &c.Secrets.TokenKey, &stored.TokenKey, fresh.TokenKey)
	if len(c.Secrets.MasterKeys) == 0 {
		if len(stored.MasterKeys) == 0 {
			stored.MasterKeys = fresh.MasterKeys
			generated = append(generated, "secrets.master_keys")
		}
		c.Secrets.MasterKeys = stored.MasterKeys
	}
	// The stored file could have been edited by hand: check what it gave us.
	if ps := validate(c); len(ps) > 0 {
		for i := range ps {
			ps[i].Source = path
		}
		return &Error{Problems: ps}
	}

	// The standing "DEMO MODE" warning is serve's, once per start (see
	// WarnDemoMode): every CLI command loads the configuration, and a
	// script that runs seven of them should not print it seven times.
	if len(generated) == 0 {
		return nil
	}
	out, err := yaml.Marshal(&stored)
	if err != nil {
		return fmt.Errorf("encode demo secrets: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := writeFileAtomic(path, out, 0o600); err != nil {
		return fmt.Errorf("write demo secrets: %w", err)
	}
	logger.Warn("demo mode: generated new secrets and stored them in plain text in the data directory",
		"file", path, "keys", generated)
	return nil
}

// DemoSecretsPath is the demo secrets file of this configuration's data
// directory.
func (c *Config) DemoSecretsPath() string { return filepath.Join(c.DataDir, DemoSecretsFile) }

// WarnDemoMode logs the demo-mode warning when c is in demo mode. The server
// calls it once per start; other commands stay quiet about it.
func (c *Config) WarnDemoMode(logger *slog.Logger) {
	if !c.Demo {
		return
	}
	logger.Warn("DEMO MODE: secrets missing from the configuration are kept in plain text in the data directory; never run demo mode in production",
		"file", c.DemoSecretsPath())
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
}
