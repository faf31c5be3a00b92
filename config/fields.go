package config

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable faceidp reads.
const EnvPrefix = "FACEIDP_"

// EnvName is the environment variable for a key path such as
// "face.match_threshold" (FACEIDP_FACE_MATCH_THRESHOLD).
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Field describes one configuration key, for documentation and tests.
type Field struct {
	Key     string // yaml path, e.g. "face.mode"
	Env     string // environment variable
	Type    string // string, bool, int, float, duration, list, master keys
	Default string // the default rendered as text ("" when empty)
}

// Fields lists every configuration key in declaration order.
func Fields() []Field {
	def := Defaults()
	var out []Field
	walkLeaves(reflect.ValueOf(&def).Elem(), "", func(key string, v reflect.Value) {
		out = append(out, Field{Key: key, Env: EnvName(key), Type: kindName(v), Default: render(v)})
	})
	return out
}

// walkLeaves calls fn for every leaf field (anything but a nested struct).
func walkLeaves(v reflect.Value, prefix string, fn func(key string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key := yamlKey(t.Field(i))
		if prefix != "" {
			key = prefix + "." + key
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			walkLeaves(fv, key, fn)
			continue
		}
		fn(key, fv)
	}
}

func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

var (
	durationType   = reflect.TypeOf(time.Duration(0))
	masterKeysType = reflect.TypeOf([]MasterKey(nil))
)

func kindName(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return "duration"
	case v.Type() == masterKeysType:
		return "master keys"
	}
	switch v.Kind() {
	case reflect.Int:
		return "int"
	case reflect.Float64:
		return "float"
	case reflect.Slice:
		return "list"
	}
	return v.Kind().String()
}

func render(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		d := time.Duration(v.Int())
		if d == 0 {
			return ""
		}
		return formatDuration(d)
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			return ""
		}
		return fmt.Sprint(v.Interface())
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case v.Kind() == reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return v.String()
}

// formatDuration prints whole hours and minutes without the trailing zero
// units time.Duration.String adds ("720h" rather than "720h0m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// setScalar parses text into a leaf field of any scalar kind or a
// comma-separated list. It is shared by the YAML and environment loaders so
// both accept exactly the same values.
func setScalar(v reflect.Value, text string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("not a duration (use units such as 90s, 15m, 12h): %q", text)
		}
		v.SetInt(int64(d))
		return nil
	case v.Type() == masterKeysType:
		keys, err := parseMasterKeys(text)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(keys))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("not a boolean (true or false): %q", text)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("not a whole number: %q", text)
		}
		v.SetInt(int64(n))
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", text)
		}
		v.SetFloat(f)
	case reflect.Slice:
		var items []string
		for _, s := range strings.Split(text, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported configuration type %s", v.Type())
	}
	return nil
}

// parseMasterKeys reads "id:base64,id:base64" (oldest first).
func parseMasterKeys(text string) ([]MasterKey, error) {
	var keys []MasterKey
	for i, item := range strings.Split(text, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, key, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d is not id:base64key", i+1)
		}
		keys = append(keys, MasterKey{ID: strings.TrimSpace(id), Key: strings.TrimSpace(key)})
	}
	return keys, nil
}

// decodeKey accepts standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not valid base64")
}
