package files

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// MaxName is the longest name, in bytes.
const MaxName = 255

// CheckName reports whether name may name a file in the root: 1 to MaxName
// bytes of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or '-'.
// This rules out paths ("a/b", "/etc/passwd", "..\\x"), the directory
// entries "." and "..", hidden files, and names a shell could take for an
// option. The error says which rule name breaks.
func CheckName(name string) error {
	why := ""
	switch {
	case name == "":
		why = "empty"
	case len(name) > MaxName:
		why = fmt.Sprintf("longer than %d bytes", MaxName)
	case strings.ContainsAny(name, `/\`):
		why = "a path; only flat file names in the root are served"
	case name == "." || name == "..":
		why = "a directory, not a file"
	case name[0] == '.':
		why = "hidden names (starting with '.') are not served"
	case name[0] == '-':
		why = "must not start with '-'"
	}
	for i := 0; why == "" && i < len(name); i++ {
		if b := name[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-') {
			why = "only A-Z a-z 0-9 . _ - are allowed"
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("bad name %q: %s", name, why)
}

// describe turns a file system error into the end of an "-ERR" line.
func describe(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	// os.Root's error for a name that leads out of the root, a symbolic
	// link included, is not exported; its text is all there is to match.
	if err.Error() == "path escapes from parent" {
		return "outside the root"
	}
	return err.Error()
}
