// Package buildinfo says what the running binary was built from: proactor's
// module version, the Go version and, when the binary was built from a
// version-controlled tree, its revision. The metrics' build_info, the
// control endpoint's status and the command's version output all read it
// here, so they agree.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Module is proactor's module path, looked for among the binary's modules.
const Module = "github.com/seed487d475b/proactor"

// Info describes a build.
type Info struct {
	// Version is proactor's module version: a release tag, a
	// pseudo-version, "(devel)" when the binary was built in proactor's
	// own tree, or "unknown" when the binary carries no build information.
	Version   string `json:"version"`
	GoVersion string `json:"go_version"` // the toolchain that built the binary
	// Revision, Time and Modified describe the binary's own source tree
	// (the main module's, which is proactor's only when the binary is one
	// of proactor's commands): the version control revision, its commit
	// time, and whether the tree had changes not committed. Empty where
	// the build recorded none (go run, go test, -buildvcs=false).
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown", GoVersion: runtime.Version()}
	}
	return From(bi)
}

// From extracts an Info from a binary's build information.
func From(bi *debug.BuildInfo) Info {
	info := Info{Version: "unknown", GoVersion: bi.GoVersion}
	if bi.Main.Path == Module {
		info.Version = bi.Main.Version
	}
	for _, m := range bi.Deps {
		if m.Path == Module {
			info.Version = m.Version
			if m.Replace != nil {
				info.Version = m.Replace.Version
				if info.Version == "" {
					info.Version = "(devel)" // replaced by a directory
				}
			}
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// ShortRevision returns the revision's first 12 characters, as people
// quote it.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String returns the Info on one line, as a --version flag prints it:
// "proactor v1.2.0 (rev 0123456789ab, modified; go1.25.1)".
func (i Info) String() string {
	rev := ""
	if i.Revision != "" {
		rev = "rev " + i.ShortRevision()
		if i.Modified {
			rev += ", modified"
		}
		rev += "; "
	}
	return fmt.Sprintf("proactor %s (%s%s)", i.Version, rev, i.GoVersion)
}
