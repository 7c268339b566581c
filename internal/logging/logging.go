package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Formats accepted by -log-format.
const (
	FormatAuto    = "auto"
	FormatJSON    = "json"
	FormatConsole = "console"
)

// New returns the root logger writing to w. Format "auto" picks console when
// w is a terminal and JSON otherwise; level is a zerolog level name.
func New(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("-log-level %q: want trace, debug, info, warn or error", level)
	}
	switch format {
	case FormatAuto:
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
		}
	case FormatConsole:
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: true}
	case FormatJSON:
	default:
		return zerolog.Nop(), fmt.Errorf("-log-format %q: want auto, json or console", format)
	}
	// Milliseconds matter when reading a gate's log (frame → lamp).
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// Component returns the sub-logger of one component.
func Component(root zerolog.Logger, name string) zerolog.Logger {
	return root.With().Str("component", name).Logger()
}
