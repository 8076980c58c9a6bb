package pop3d_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seed487d475b/proactor/examples/pop3d"
)

// ExampleAddUser adds a user to a users file, as `proactor pop3-user`
// does: the password is kept as a bcrypt hash.
func ExampleAddUser() {
	dir, err := os.MkdirTemp("", "pop3d")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	users := filepath.Join(dir, pop3d.UsersFile)
	if err := pop3d.AddUser(users, "alice", []byte("open sesame")); err != nil {
		panic(err)
	}
	data, err := os.ReadFile(users)
	if err != nil {
		panic(err)
	}
	name, hash, _ := strings.Cut(string(data), ":")
	fmt.Println(name, hash[:7])
	// Output: alice $2a$10$
}
