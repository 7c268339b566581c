package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is stamped by scripts/cross-build.sh and scripts/package.sh
// (-ldflags -X main.version=…); unstamped builds name their commit.
var version = ""

// buildInfo is what a box's binary says about itself: `gatescreen version`,
// the gatescreen_build_info metric and the uplink's status.
type buildInfo struct {
	Version  string // the release (git describe), else the short commit, else "dev"
	Commit   string // full VCS revision, "" when built outside a checkout
	Modified bool   // built from a checkout with uncommitted changes
	Date     string // commit time (RFC 3339), the build's reproducible date
	Go       string // Go release that built it
	Platform string // GOOS/GOARCH, with GOARM on 32-bit ARM
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			case "vcs.time":
				b.Date = s.Value
			case "GOARM":
				b.Platform += "/v" + s.Value
			}
		}
	}
	if b.Version != "" {
		return b
	}
	switch {
	case len(b.Commit) >= 12:
		b.Version = b.Commit[:12]
		if b.Modified {
			b.Version += "-dirty"
		}
	case ok && bi.Main.Version != "" && bi.Main.Version != "(devel)":
		b.Version = bi.Main.Version
	default:
		b.Version = "dev"
	}
	return b
}

// versionString is the one-word version of logs and the uplink.
func versionString() string { return readBuildInfo().Version }

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	printVersion(stdout)
	return nil
}

func printVersion(w io.Writer) {
	b := readBuildInfo()
	commit, date := b.Commit, b.Date
	if commit == "" {
		commit = "unknown (built outside a git checkout)"
	} else if b.Modified {
		commit += " (with uncommitted changes)"
	}
	if date == "" {
		date = "unknown"
	}
	fmt.Fprintf(w, "gatescreen %s\ncommit:   %s\ndate:     %s\ngo:       %s %s\n", b.Version, commit, date, b.Go, b.Platform)
}
