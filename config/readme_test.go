package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDocumentsEveryKey keeps the README's configuration reference in
// step with the code: every key must appear with its variable and default.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, f := range Fields() {
		row := "| `" + f.Key + "` | `" + f.Env + "` |"
		i := strings.Index(readme, row)
		if i < 0 {
			t.Errorf("README has no configuration row for %s (%s)", f.Key, f.Env)
			continue
		}
		line, _, _ := strings.Cut(readme[i:], "\n")
		if f.Default != "" && f.Default != "0" && f.Default != "false" && !strings.Contains(line, "`"+f.Default+"`") {
			t.Errorf("README row for %s does not give its default %q:\n%s", f.Key, f.Default, line)
		}
	}
}
