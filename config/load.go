package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadOptions say where configuration comes from.
type LoadOptions struct {
	// Path is the YAML file; empty means defaults and environment only.
	Path string
	// Environ is the environment as "KEY=value" strings (os.Environ()).
	Environ []string
	// Demo forces demo mode (the --demo flag) whatever the file says.
	Demo bool
	// Rand generates demo secrets (crypto/rand.Reader in production).
	Rand io.Reader
	// Logger receives a note when demo secrets are generated and notes
	// about unknown FACEIDP_* variables. Nil discards them. (The standing
	// demo-mode warning is Config.WarnDemoMode's, called by serve.)
	Logger *slog.Logger
}

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Key is the configuration key, e.g. "face.match_threshold".
	Key string
	// Source says where the bad value came from when it was not the
	// default: "FACEIDP_FACE_MATCH_THRESHOLD" or "config.yaml line 12".
	Source  string
	Message string
}

func (p Problem) String() string {
	if p.Source != "" {
		return fmt.Sprintf("%s (%s): %s", p.Key, p.Source, p.Message)
	}
	return p.Key + ": " + p.Message
}

// Error lists every problem found in a configuration.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration, %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads defaults, then the YAML file, then FACEIDP_* variables, and
// validates the result. Every problem is returned together in an *Error. In
// demo mode missing secrets are generated and persisted in the data
// directory (see DemoSecretsFile).
func Load(opts LoadOptions) (*Config, error) {
	cfg := Defaults()
	c := &collector{sources: map[string]string{}}

	if opts.Path != "" {
		data, err := os.ReadFile(opts.Path)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		c.decodeYAML(data, opts.Path, &cfg)
	}
	c.applyEnv(opts.Environ, &cfg, opts.Logger)
	if opts.Demo {
		cfg.Demo = true
	}
	// A key whose value could not be read keeps its default; validating
	// that default would only add noise to the report.
	unreadable := map[string]bool{}
	for _, p := range c.problems {
		unreadable[p.Key] = true
	}
	for _, p := range validate(&cfg) {
		if unreadable[p.Key] {
			continue
		}
		p.Source = c.sources[p.Key]
		c.problems = append(c.problems, p)
	}
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.problems}
	}
	if cfg.Demo {
		if err := ensureDemoSecrets(&cfg, opts.Rand, opts.Logger); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

type collector struct {
	problems []Problem
	// sources maps a key to where its value came from.
	sources map[string]string
}

func (c *collector) add(key, source, format string, args ...any) {
	c.problems = append(c.problems, Problem{Key: key, Source: source, Message: fmt.Sprintf(format, args...)})
}

func (c *collector) decodeYAML(data []byte, path string, cfg *Config) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		c.add("(file)", path, "not valid YAML: %v", err)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // empty file
	}
	c.decodeStruct(doc.Content[0], reflect.ValueOf(cfg).Elem(), "", path)
}

func (c *collector) decodeStruct(n *yaml.Node, v reflect.Value, prefix, path string) {
	n = deref(n)
	if n.Tag == "!!null" {
		return
	}
	where := func(n *yaml.Node) string { return fmt.Sprintf("%s line %d", path, n.Line) }
	if n.Kind != yaml.MappingNode {
		name := prefix
		if name == "" {
			name = "(file)"
		}
		c.add(name, where(n), "expected a mapping of keys, got %s", describe(n))
		return
	}
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		fields[yamlKey(v.Type().Field(i))] = i
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], deref(n.Content[i+1])
		key := kn.Value
		if prefix != "" {
			key = prefix + "." + kn.Value
		}
		idx, ok := fields[kn.Value]
		if !ok {
			if why, gone := removedKeys[key]; gone {
				c.add(key, where(kn), "%s", why)
				continue
			}
			c.add(key, where(kn), "unknown key%s", suggest(kn.Value, fields))
			continue
		}
		fv := v.Field(idx)
		src := where(vn)
		c.sources[key] = src
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			c.decodeStruct(vn, fv, key, path)
		case fv.Type() == masterKeysType:
			c.decodeMasterKeys(vn, fv, key, path)
		case fv.Kind() == reflect.Slice:
			c.decodeList(vn, fv, key, src)
		default:
			if vn.Tag == "!!null" {
				continue
			}
			if vn.Kind != yaml.ScalarNode {
				c.add(key, src, "expected a single value, got %s", describe(vn))
				continue
			}
			if err := setScalar(fv, vn.Value); err != nil {
				c.add(key, src, "%v", err)
			}
		}
	}
}

func (c *collector) decodeList(n *yaml.Node, v reflect.Value, key, src string) {
	switch {
	case n.Tag == "!!null":
		v.Set(reflect.Zero(v.Type()))
	case n.Kind == yaml.ScalarNode:
		_ = setScalar(v, n.Value)
	case n.Kind == yaml.SequenceNode:
		items := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode {
				c.add(key, src, "list items must be single values, got %s", describe(item))
				return
			}
			items = append(items, item.Value)
		}
		v.Set(reflect.ValueOf(items))
	default:
		c.add(key, src, "expected a list, got %s", describe(n))
	}
}

func (c *collector) decodeMasterKeys(n *yaml.Node, v reflect.Value, key, path string) {
	if n.Tag == "!!null" {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.SequenceNode {
		c.add(key, fmt.Sprintf("%s line %d", path, n.Line), "expected a list of {id, key} entries, got %s", describe(n))
		return
	}
	keys := make([]MasterKey, len(n.Content))
	for i, item := range n.Content {
		c.decodeStruct(item, reflect.ValueOf(&keys[i]).Elem(), fmt.Sprintf("%s[%d]", key, i), path)
	}
	v.Set(reflect.ValueOf(keys))
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// suggest names the closest known key when one is a near miss.
func suggest(got string, known map[string]int) string {
	best, bestD := "", 3
	for k := range known {
		if d := editDistance(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// applyEnv overrides keys from FACEIDP_* variables. Unknown FACEIDP_*
// variables are logged, since a typo would otherwise be silently ignored.
func (c *collector) applyEnv(environ []string, cfg *Config, logger *slog.Logger) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	known := map[string]bool{}
	walkLeaves(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) {
		name := EnvName(key)
		known[name] = true
		text, ok := env[name]
		if !ok {
			return
		}
		c.sources[key] = name
		if err := setScalar(v, text); err != nil {
			c.add(key, name, "%v", err)
		}
	})
	for key, why := range removedKeys {
		if _, set := env[EnvName(key)]; set {
			c.add(key, EnvName(key), "%s", why)
			known[EnvName(key)] = true
		}
	}
	if logger == nil {
		return
	}
	var unknown []string
	for k := range env {
		if !known[k] && !readElsewhere(k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		logger.Warn("ignoring unknown environment variable", "name", k)
	}
}

// readElsewhere reports FACEIDP_* variables read by something other than
// this package (the CLI, the demo app, test fixtures), so they are not
// reported as typos.
func readElsewhere(name string) bool {
	switch name {
	case "FACEIDP_CONFIG", // the CLI's default for --config
		"FACEIDP_MODELS_DIR", "FACEIDP_SHARED_DIR", "FACEIDP_CALIBRATE": // test fixtures
		return true
	}
	return strings.HasPrefix(name, "FACEIDP_TEST_") || strings.HasPrefix(name, "FACEIDP_DEMO_RP_")
}

// removedKeys are keys of earlier releases that no longer exist, with what
// replaced them: refused with that explanation rather than "unknown key".
var removedKeys = map[string]string{
	"rate_limit.lockout_threshold": "was removed: the account-wide lockout is replaced by per-factor throttling; use rate_limit.password_throttle_after and rate_limit.face_throttle_after (see README \"Throttling\")",
	"rate_limit.lockout_duration":  "was removed: the account-wide lockout is replaced by per-factor throttling with growing waits; use rate_limit.password_delays and rate_limit.face_delay (see README \"Throttling\")",
}
