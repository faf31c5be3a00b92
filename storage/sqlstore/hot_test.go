package sqlstore

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"github.com/faceidp/faceidp/models"
)

// The hand-written hot queries must read every column of their models, or
// a new field would silently come back empty from them.
func TestHotColumnsCoverModels(t *testing.T) {
	for _, tc := range []struct {
		model any
		cols  []hotColumn
	}{
		{&models.Client{}, clientColumns(&models.Client{})},
		{&models.User{}, userColumns(&models.User{})},
		{&models.AccessToken{}, accessTokenColumns(&models.AccessToken{})},
		{&models.RefreshToken{}, refreshTokenColumns(&models.RefreshToken{})},
		{&models.AuthRequest{}, authRequestColumns(&models.AuthRequest{})},
		{&models.FactorThrottle{}, throttleColumns(&models.FactorThrottle{})},
	} {
		sch, err := schema.Parse(tc.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range tc.cols {
			got = append(got, c.name)
		}
		want := slices.Clone(sch.DBNames)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: hot.go reads %v, the model has %v: update its column list", sch.Name, got, want)
		}
	}
}

// simpleList agrees with encoding/json wherever it answers, and leaves
// everything unusual to it.
func TestSimpleList(t *testing.T) {
	for _, in := range []string{`[]`, `["openid"]`, `["openid","profile","email"]`, `["a,b","c]"]`} {
		got, ok := simpleList([]byte(in))
		var want []string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !ok || !slices.Equal(got, want) {
			t.Errorf("simpleList(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{`["a\"b"]`, `["a\u00e9"]`, `[ "a" ]`, `["a",]`, `["a"`, `[1]`, `null`, `{}`} {
		if got, ok := simpleList([]byte(in)); ok {
			t.Errorf("simpleList(%s) = %q, want it to defer to encoding/json", in, got)
		}
	}
}
