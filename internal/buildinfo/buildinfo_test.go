package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.time", Value: "2026-12-05T07:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name   string
		bi     debug.BuildInfo
		want   Info
		String string
	}{
		{
			name:   "OwnCommand",
			bi:     debug.BuildInfo{GoVersion: "go1.25.1", Main: debug.Module{Path: Module, Version: "(devel)"}, Settings: vcs},
			want:   Info{Version: "(devel)", GoVersion: "go1.25.1", Revision: "0123456789abcdef0123", Time: "2026-12-05T07:00:00Z", Modified: true},
			String: "proactor (devel) (rev 0123456789ab, modified; go1.25.1)",
		},
		{
			name: "Dependency",
			bi: debug.BuildInfo{GoVersion: "go1.25.1", Main: debug.Module{Path: "example.com/app", Version: "(devel)"},
				Deps: []*debug.Module{{Path: "golang.org/x/sys", Version: "v0.30.0"}, {Path: Module, Version: "v1.2.0"}}},
			want:   Info{Version: "v1.2.0", GoVersion: "go1.25.1"},
			String: "proactor v1.2.0 (go1.25.1)",
		},
		{
			name: "ReplacedByDirectory",
			bi: debug.BuildInfo{GoVersion: "go1.25.1", Main: debug.Module{Path: "example.com/app"},
				Deps: []*debug.Module{{Path: Module, Version: "v0.0.0", Replace: &debug.Module{Path: "../proactor"}}}},
			want:   Info{Version: "(devel)", GoVersion: "go1.25.1"},
			String: "proactor (devel) (go1.25.1)",
		},
		{
			name:   "NotLinked",
			bi:     debug.BuildInfo{GoVersion: "go1.25.1", Main: debug.Module{Path: "example.com/app"}},
			want:   Info{Version: "unknown", GoVersion: "go1.25.1"},
			String: "proactor unknown (go1.25.1)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := From(&tc.bi)
			if got != tc.want {
				t.Fatalf("From = %+v; want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.String {
				t.Fatalf("String = %q; want %q", s, tc.String)
			}
		})
	}
}

// TestRead: a test binary has build information; the Go version is the
// runtime's.
func TestRead(t *testing.T) {
	if got := Read(); got.GoVersion != runtime.Version() || got.Version == "" {
		t.Fatalf("Read = %+v; runtime %s", got, runtime.Version())
	}
}
