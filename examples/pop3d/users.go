package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MaxName is the longest user name.
const MaxName = 64

// ErrBadName reports a user name that CheckName refuses.
var ErrBadName = errors.New("pop3d: bad user name")

// CheckName checks a user name: 1 to MaxName bytes of a-z, A-Z, 0-9, '.',
// '_' and '-', not starting with '.' or '-'. A name is a directory of the
// maildrop root, so nothing else (no '/', no "..") may get through.
func CheckName(name string) error {
	if name == "" || len(name) > MaxName || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("%w %q", ErrBadName, name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("%w %q", ErrBadName, name)
		}
	}
	return nil
}

// lookup returns the bcrypt hash of user in the users file, or nil when the
// user is not there.
func lookup(path, user string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for line := range bytes.Lines(data) {
		name, hash, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		if ok && string(name) == user {
			return hash, nil
		}
	}
	return nil, nil
}

// AddUser sets user's password in the users file at path, creating the
// file (mode 0600) if need be and replacing the user's line if there is
// one. The password is stored as a bcrypt hash (cost 10); bcrypt takes at
// most 72 bytes of password and refuses more. The file is replaced
// atomically (a temporary file renamed over it), so a server reading it
// meanwhile sees the old one or the new one.
func AddUser(path, user string, password []byte) error {
	if err := CheckName(user); err != nil {
		return err
	}
	if len(password) == 0 {
		return errors.New("pop3d: empty password")
	}
	hash, err := bcrypt.GenerateFromPassword(password, bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("pop3d: %w", err)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var out bytes.Buffer
	for line := range bytes.Lines(old) {
		name, _, _ := bytes.Cut(line, []byte(":"))
		if string(name) != user {
			out.Write(line)
			if !bytes.HasSuffix(line, []byte("\n")) {
				out.WriteByte('\n')
			}
		}
	}
	fmt.Fprintf(&out, "%s:%s\n", user, hash)
	return replaceFile(path, out.Bytes())
}

// replaceFile writes data to a temporary file beside path, syncs it and
// renames it over path.
func replaceFile(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// ReadPassword reads a password from the first line of r (what
// `proactor pop3-user` reads from standard input), without its line end.
func ReadPassword(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("pop3d: reading the password: %w", err)
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}
