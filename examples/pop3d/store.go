package pop3d

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/seed487d475b/proactor/pop3"
)

// Store is the Authenticator of a maildrop directory (see the package
// documentation for the layout). It is safe for concurrent use; it locks
// each user's maildrop for one session at a time, in memory, so one
// directory must be served by one process.
type Store struct {
	root  *os.Root
	users string

	mu     sync.Mutex
	locked map[string]bool
	sizes  map[string]map[string]measured // user → file path → what Measure found
}

// measured is a message's Measure result, kept while its file is
// unchanged (Maildir files never change once delivered, so in practice
// each is read once per process).
type measured struct {
	size  int64
	mtime time.Time
	wire  int64
	ready bool // the file is the wire form already
}

// dummyHash stands in for an unknown user's hash, so that a login takes
// as long whether the user exists or not.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)

// New opens the maildrop directory dir; users is the users file (see
// AddUser), read again at every login so that a new password takes effect
// at once. Close releases dir.
func New(dir, users string) (*Store, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("pop3d: maildrop: %w", err)
	}
	return &Store{root: root, users: users, locked: map[string]bool{}, sizes: map[string]map[string]measured{}}, nil
}

// Close closes the maildrop directory.
func (s *Store) Close() error { return s.root.Close() }

// Login checks user's password against the users file and opens the
// user's maildrop, locked until the Maildrop is closed; see
// pop3.Authenticator.
func (s *Store) Login(user, pass string) (pop3.Maildrop, error) {
	hash := dummyHash
	known := false
	if CheckName(user) == nil {
		h, err := lookup(s.users, user)
		if err != nil {
			return nil, fmt.Errorf("pop3d: users file: %w", err)
		}
		if h != nil {
			hash, known = h, true
		}
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil || !known {
		return nil, pop3.ErrAuth
	}
	s.mu.Lock()
	if s.locked[user] {
		s.mu.Unlock()
		return nil, pop3.ErrLocked
	}
	s.locked[user] = true
	s.mu.Unlock()
	d, err := s.open(user)
	if err != nil {
		s.unlock(user)
		return nil, err
	}
	return d, nil
}

func (s *Store) unlock(user string) {
	s.mu.Lock()
	delete(s.locked, user)
	s.mu.Unlock()
}

// open lists and measures user's messages: the regular files of new/ and
// cur/, in the order of their names (Maildir names begin with the delivery
// time). A user without a maildir has an empty maildrop.
func (s *Store) open(user string) (*maildrop, error) {
	var names []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := fs.ReadDir(s.root.FS(), path.Join(user, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, path.Join(user, sub, e.Name()))
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(path.Base(a), path.Base(b)) })

	s.mu.Lock()
	old := s.sizes[user]
	s.mu.Unlock()
	known := make(map[string]measured, len(names))
	d := &maildrop{store: s, user: user}
	for _, name := range names {
		m, err := s.measure(name, old[name])
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		known[name] = m
		d.paths = append(d.paths, name)
		d.msgs = append(d.msgs, pop3.Message{Size: m.wire, UID: uid(path.Base(name)), Wire: m.ready})
	}
	s.mu.Lock()
	s.sizes[user] = known
	s.mu.Unlock()
	return d, nil
}

// measure returns what Measure finds in the file name, reusing last if the
// file has not changed since.
func (s *Store) measure(name string, last measured) (measured, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return measured{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return measured{}, err
	}
	if !last.mtime.IsZero() && last.size == fi.Size() && last.mtime.Equal(fi.ModTime()) {
		return last, nil
	}
	wire, ready, err := pop3.Measure(f)
	if err != nil {
		return measured{}, err
	}
	return measured{size: fi.Size(), mtime: fi.ModTime(), wire: wire, ready: ready}, nil
}

// uid is a message's unique id: its Maildir name without the ":2,flags"
// info, if that is 1 to 70 printable characters (RFC 1939's UIDL rule),
// else a hash of it.
func uid(name string) string {
	id, _, _ := strings.Cut(name, ":")
	ok := len(id) > 0 && len(id) <= 70
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] >= 0x21 && id[i] <= 0x7e
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// maildrop is one session's view of a user's Maildir.
type maildrop struct {
	store *Store
	user  string
	paths []string
	msgs  []pop3.Message
}

func (d *maildrop) Messages() []pop3.Message { return d.msgs }

// Open returns the message's file: an *os.File, so that RETR can send it
// with sendfile(2) when it is in wire form.
func (d *maildrop) Open(i int) (io.ReadCloser, error) { return d.store.root.Open(d.paths[i]) }

// Delete removes the messages' files. One already gone is not an error:
// the result the client asked for holds.
func (d *maildrop) Delete(indexes []int) error {
	var errs []error
	for _, i := range indexes {
		if err := d.store.root.Remove(d.paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *maildrop) Close() error {
	d.store.unlock(d.user)
	return nil
}
