package runner

import "sync"

// LostFrames counts one device's frames that never became readings, across
// every session of its Run: the pipeline cannot count what it never
// received, so a district scraping the box would otherwise see a gate that
// sends garbage or a transmitter that stopped answering as a quiet lane.
// Safe for concurrent use; the zero value is ready.
type LostFrames struct {
	mu     sync.Mutex
	ended  LostCounts // sessions that are over
	source any        // the running session's Source, nil between sessions
}

// LostCounts are the lost frames by cause.
type LostCounts struct {
	// Dropped is input the driver discarded before it was a frame at all
	// (an over-long or unreadable line).
	Dropped uint64
	// Timeouts are polls the device did not answer in time.
	Timeouts uint64
}

// timeoutCounter is implemented by polled sources that count the requests
// their device left unanswered.
type timeoutCounter interface {
	Timeouts() uint64
}

// Counts returns the frames lost so far, the running session's included.
func (l *LostFrames) Counts() LostCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.ended
	c.add(lostIn(l.source))
	return c
}

// attach makes src the running session's source; its counters start at 0,
// as every session's Source is new.
func (l *LostFrames) attach(src any) {
	l.mu.Lock()
	l.source = src
	l.mu.Unlock()
}

// detach folds the ending session's counts into the total.
func (l *LostFrames) detach() {
	l.mu.Lock()
	l.ended.add(lostIn(l.source))
	l.source = nil
	l.mu.Unlock()
}

func (c *LostCounts) add(o LostCounts) {
	c.Dropped += o.Dropped
	c.Timeouts += o.Timeouts
}

// lostIn reads the counters src offers; a source that has none lost nothing
// the pipeline does not see.
func lostIn(src any) LostCounts {
	var c LostCounts
	if dc, ok := src.(dropCounter); ok {
		c.Dropped = dc.Dropped()
	}
	if tc, ok := src.(timeoutCounter); ok {
		c.Timeouts = tc.Timeouts()
	}
	return c
}
