package lineproto

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// readTimeout bounds one Read so ReadLines notices ctx being done.
const readTimeout = 100 * time.Millisecond

// Splitter cuts a byte stream into lines of at most a fixed length. It
// reuses one buffer and does not allocate after NewSplitter.
type Splitter struct {
	// ends holds the bytes that end a line.
	ends string
	max  int
	buf  []byte
	// overlong is set while the rest of a too long line is discarded.
	overlong bool
	dropped  atomic.Uint64
}

// NewSplitter returns a splitter for lines ended by any byte of ends and at
// most maxLine bytes long, terminator excluded.
func NewSplitter(ends string, maxLine int) *Splitter {
	return &Splitter{ends: ends, max: maxLine, buf: make([]byte, 0, maxLine)}
}

// Dropped returns how many over-long lines were dropped. It is safe to call
// while another goroutine feeds the splitter.
func (s *Splitter) Dropped() uint64 { return s.dropped.Load() }

// ReadLines reads port into buf and feeds what it reads to s until ctx is
// done (nil) or the port fails (the error, saying which step failed; the
// driver adds its name). Every line-oriented driver's Run is this loop.
func (s *Splitter) ReadLines(ctx context.Context, port drivers.Port, buf []byte, line func([]byte)) error {
	if err := port.SetReadTimeout(readTimeout); err != nil {
		return fmt.Errorf("set read timeout: %w", err)
	}
	for ctx.Err() == nil {
		n, err := port.Read(buf)
		if n > 0 {
			s.Feed(buf[:n], line)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
	return nil
}

// Feed splits p and calls line for each complete, non-empty line, trimmed of
// surrounding spaces, tabs and carriage returns. The slice passed to line is
// only valid during the call.
func (s *Splitter) Feed(p []byte, line func([]byte)) {
	for len(p) > 0 {
		i := s.indexEnd(p)
		if i < 0 {
			s.keep(p)
			return
		}
		seg := p[:i]
		p = p[i+1:]
		switch {
		case s.overlong:
			s.overlong = false
		case len(s.buf)+len(seg) > s.max:
			s.dropped.Add(1)
			s.buf = s.buf[:0]
		case len(s.buf) == 0:
			emitTrimmed(seg, line)
		default:
			s.buf = append(s.buf, seg...)
			emitTrimmed(s.buf, line)
			s.buf = s.buf[:0]
		}
	}
}

func (s *Splitter) indexEnd(p []byte) int {
	if len(s.ends) == 1 {
		return bytes.IndexByte(p, s.ends[0])
	}
	return bytes.IndexAny(p, s.ends)
}

// keep buffers the start of a line, or starts discarding it once it is too
// long.
func (s *Splitter) keep(p []byte) {
	if s.overlong {
		return
	}
	if len(s.buf)+len(p) > s.max {
		s.dropped.Add(1)
		s.overlong = true
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, p...)
}

func emitTrimmed(b []byte, line func([]byte)) {
	if b = bytes.Trim(b, " \t\r"); len(b) > 0 {
		line(b)
	}
}
