package storagetest

import (
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func alice() *models.User {
	t0 := baseTime()
	return &models.User{
		ID: "u-alice", Username: "alice", Email: "Alice@Example.com", EmailVerified: true,
		Name: "Alice Liddell", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		RequireFace: true,
		CreatedAt:   t0, UpdatedAt: t0,
	}
}

func testUserCreateGet(t *testing.T, s storage.Storage) {
	want := alice()
	must(t, "create", s.CreateUser(t.Context(), want))
	got, err := s.GetUser(t.Context(), "u-alice")
	must(t, "get", err)
	sameRecord(t, "user", got, alice())

	_, err = s.GetUser(t.Context(), "nobody")
	wantErr(t, "get unknown user", err, storage.ErrNotFound)
}

func testUserDuplicate(t *testing.T, s storage.Storage) {
	must(t, "create alice", s.CreateUser(t.Context(), alice()))
	for _, tc := range []struct {
		name string
		u    models.User
	}{
		{"same id", models.User{ID: "u-alice", Username: "other", Email: "other@example.com"}},
		{"same username", models.User{ID: "u2", Username: "alice", Email: "other@example.com"}},
		{"username differs only in case", models.User{ID: "u2", Username: "ALICE", Email: "other@example.com"}},
		{"same email other case", models.User{ID: "u2", Username: "bob", Email: "alice@example.COM"}},
		{"username is alice's email", models.User{ID: "u2", Username: "alice@example.com", Email: "bob@example.com"}},
		{"email is alice's username", models.User{ID: "u2", Username: "bob", Email: "Alice"}},
	} {
		u := tc.u
		wantErr(t, tc.name, s.CreateUser(t.Context(), &u), storage.ErrAlreadyExists)
	}
	users, err := s.ListUsers(t.Context())
	must(t, "list", err)
	if len(users) != 1 {
		t.Fatalf("after rejected duplicates: %d users, want only alice", len(users))
	}
	sameRecord(t, "alice after duplicates", &users[0], alice())
}

func testUserLogin(t *testing.T, s storage.Storage) {
	must(t, "create alice", s.CreateUser(t.Context(), alice()))
	must(t, "create bob", s.CreateUser(t.Context(), &models.User{ID: "u-bob", Username: "Bob", Email: "bob@example.org"}))
	for login, id := range map[string]string{
		"alice": "u-alice", "ALICE": "u-alice", "aLiCe": "u-alice",
		"alice@example.com": "u-alice", "ALICE@EXAMPLE.COM": "u-alice",
		"bob": "u-bob", "Bob": "u-bob", "BOB@example.org": "u-bob",
	} {
		u, err := s.GetUserByLogin(t.Context(), login)
		if err != nil {
			t.Errorf("login %q: %v", login, err)
			continue
		}
		if u.ID != id {
			t.Errorf("login %q found %s, want %s", login, u.ID, id)
		}
	}
	for _, login := range []string{"", "carol", "alice@example", "alic", "%", "alice%"} {
		_, err := s.GetUserByLogin(t.Context(), login)
		wantErr(t, "login "+login, err, storage.ErrNotFound)
	}
}

func testUserUpdate(t *testing.T, s storage.Storage) {
	must(t, "create alice", s.CreateUser(t.Context(), alice()))
	must(t, "create bob", s.CreateUser(t.Context(), &models.User{ID: "u-bob", Username: "bob", Email: "bob@example.org"}))

	u, err := s.GetUser(t.Context(), "u-alice")
	must(t, "get", err)
	u.Name = "Alice L."
	u.RequireFace = false
	u.Disabled = true
	u.CreatedAt = time.Time{} // must not clobber the stored creation time
	must(t, "update", s.UpdateUser(t.Context(), u))
	got, err := s.GetUser(t.Context(), "u-alice")
	must(t, "get after update", err)
	want := alice()
	want.Name, want.RequireFace, want.Disabled = "Alice L.", false, true
	sameRecord(t, "updated user", got, want, "UpdatedAt")
	if got.UpdatedAt.Before(alice().UpdatedAt) {
		t.Errorf("UpdatedAt went backwards: %s", got.UpdatedAt)
	}

	// Taking bob's email fails and leaves alice as she was.
	clash := *got
	clash.Email = "BOB@example.org"
	wantErr(t, "update to bob's email", s.UpdateUser(t.Context(), &clash), storage.ErrAlreadyExists)
	again, err := s.GetUser(t.Context(), "u-alice")
	must(t, "get after failed update", err)
	if again.Email != want.Email {
		t.Errorf("failed update changed email to %q", again.Email)
	}

	ghost := &models.User{ID: "u-ghost", Username: "ghost", Email: "ghost@example.com"}
	wantErr(t, "update unknown", s.UpdateUser(t.Context(), ghost), storage.ErrNotFound)
	_, err = s.GetUser(t.Context(), "u-ghost")
	wantErr(t, "update of unknown user must not create it", err, storage.ErrNotFound)
}

func testUserList(t *testing.T, s storage.Storage) {
	users, err := s.ListUsers(t.Context())
	must(t, "list empty", err)
	if len(users) != 0 {
		t.Fatalf("empty store lists %d users", len(users))
	}
	for _, name := range []string{"carol", "alice", "bob"} {
		must(t, "create "+name, s.CreateUser(t.Context(), &models.User{ID: "u-" + name, Username: name, Email: name + "@example.com"}))
	}
	users, err = s.ListUsers(t.Context())
	must(t, "list", err)
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	if len(names) != 3 || names[0] != "alice" || names[1] != "bob" || names[2] != "carol" {
		t.Fatalf("ListUsers = %v, want [alice bob carol]", names)
	}
}
