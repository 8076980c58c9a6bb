package pop3d_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor/examples/pop3d"
	"github.com/seed487d475b/proactor/pop3"
)

// TestAddUser checks that AddUser adds, replaces and keeps users, and that
// the store logs in with what it wrote.
func TestAddUser(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	for _, u := range []struct{ name, pass string }{{"a", "one"}, {"b", "two"}, {"a", "three"}} {
		if err := pop3d.AddUser(users, u.name, []byte(u.pass)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 2 || !strings.HasPrefix(string(data), "b:$2") {
		t.Fatalf("users file:\n%s", data)
	}
	store, err := pop3d.New(dir, users)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, tt := range []struct {
		user, pass string
		wantErr    error
	}{
		{"a", "three", nil}, {"a", "one", pop3.ErrAuth}, {"b", "two", nil}, {"c", "two", pop3.ErrAuth}, {"../b", "two", pop3.ErrAuth},
	} {
		d, err := store.Login(tt.user, tt.pass)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Login(%q, %q) = %v, want %v", tt.user, tt.pass, err, tt.wantErr)
		}
		if d != nil {
			d.Close()
		}
	}
	for _, bad := range []string{"", ".a", "-a", "a/b", "a b", strings.Repeat("x", pop3d.MaxName+1)} {
		if err := pop3d.AddUser(users, bad, []byte("x")); !errors.Is(err, pop3d.ErrBadName) {
			t.Errorf("AddUser(%q) = %v, want ErrBadName", bad, err)
		}
	}
}
