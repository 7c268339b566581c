package runner

import "time"

// logLimiter keeps a failing device from flooding the journal: a message is
// logged the first time, and repeats of the same message at most once per
// period, carrying how many were held back.
type logLimiter struct {
	every      time.Duration
	now        func() time.Time
	last       string
	loggedAt   time.Time
	suppressed int
}

// allow reports whether msg should be logged now and, if so, how many
// identical messages were held back since it was last logged.
func (l *logLimiter) allow(msg string) (ok bool, suppressed int) {
	now := l.now()
	if msg != l.last || now.Sub(l.loggedAt) >= l.every {
		suppressed = l.suppressed
		if msg != l.last {
			suppressed = 0
		}
		l.last, l.loggedAt, l.suppressed = msg, now, 0
		return true, suppressed
	}
	l.suppressed++
	return false, 0
}
