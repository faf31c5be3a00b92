package sqlstore_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// Commits on SQLite never copy the WAL back themselves (that held the
// single writer for ~10 ms every ~50 refreshes); the store's checkpointer
// does it in the background: what was written reaches the database file
// itself, readable without the WAL.
func TestWritesReachTheDatabaseFileInTheBackground(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "faceidp.db")
	s := teststore.Open(t, "sqlite://"+path, sqlstore.WithCheckpointInterval(20*time.Millisecond))
	const n = 400 // well under SQLite's own 1000-page auto-checkpoint
	for i := range n {
		u := &models.User{ID: fmt.Sprintf("u%d", i), Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("u%d@example.com", i)}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := usersInFileAlone(t, path)
		if err == nil && got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file without its WAL holds %d users (err %v), want %d: nothing checkpointed it", got, err, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// usersInFileAlone counts the users in a copy of the database file made
// without its WAL.
func usersInFileAlone(t *testing.T, path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	// A WAL-mode file opened alone must not find a stale -wal beside it.
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite3", "file:"+cp+"?mode=ro&immutable=1")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var got int
	err = db.QueryRow("SELECT count(*) FROM users").Scan(&got)
	return got, err
}
