package store

import (
	"context"
	"fmt"
)

// StoredEvent is an event as the database keeps it.
type StoredEvent struct {
	Event
	Box        string
	Site       Site
	ReceivedAt string
	// CountedAt is CapturedAt, or ReceivedAt when the capture was more than
	// Opts.ClockSkew after or Opts.MaxBacklog before the arrival.
	CountedAt string
}

// Events returns a box's events in seq order ("" for every box, by box
// then seq): the order of the box's store, not of arrival.
func (s *Store) Events(ctx context.Context, box string) ([]StoredEvent, error) {
	return s.events(ctx, `? = '' OR box = ?`, box, box)
}

// CaseEvents returns the case transitions counted at or after since
// (TimeFormat; see StoredEvent.CountedAt), by box then seq.
func (s *Store) CaseEvents(ctx context.Context, since string) ([]StoredEvent, error) {
	return s.events(ctx, `kind = 'case' AND counted_at >= ?`, since)
}

func (s *Store) events(ctx context.Context, where string, args ...any) ([]StoredEvent, error) {
	return queryAll(ctx, s.b.pool(), `SELECT id, box, seq, kind, district, school, gate, captured_at, clock_synced,
		drill, body, received_at, counted_at FROM events WHERE `+where+` ORDER BY box, seq`, args,
		func(scan func(...any) error, e *StoredEvent) error {
			var body string
			err := scan(&e.ID, &e.Box, &e.Seq, &e.Kind, &e.Site.District, &e.Site.School, &e.Site.Gate,
				&e.CapturedAt, &e.ClockSynced, &e.Drill, &body, &e.ReceivedAt, &e.CountedAt)
			e.Body = []byte(body)
			return err
		})
}

// Box is a bound box with its high-water mark and retained status.
type Box struct {
	Box            string
	Site           Site
	FirstSeen      string
	LastSeq        int64
	LastCapturedAt string
	LastReceivedAt string
	// Status is the latest retained status; State is "" before the first.
	Status           Status
	StatusReceivedAt string
}

// Boxes returns every bound box, by district, school and gate.
func (s *Store) Boxes(ctx context.Context) ([]Box, error) {
	return queryAll(ctx, s.b.pool(), `SELECT b.box, b.district, b.school, b.gate, b.first_seen, b.last_seq,
		b.last_captured_at, b.last_received_at, COALESCE(st.state, ''), COALESCE(st.reason, ''),
		COALESCE(st.since, ''), COALESCE(st.boot_id, ''), COALESCE(st.version, ''), COALESCE(st.received_at, '')
		FROM boxes b LEFT JOIN box_status st ON st.box = b.box ORDER BY b.district, b.school, b.gate`, nil,
		func(scan func(...any) error, b *Box) error {
			return scan(&b.Box, &b.Site.District, &b.Site.School, &b.Site.Gate, &b.FirstSeen, &b.LastSeq,
				&b.LastCapturedAt, &b.LastReceivedAt, &b.Status.State, &b.Status.Reason, &b.Status.Since,
				&b.Status.BootID, &b.Status.Version, &b.StatusReceivedAt)
		})
}

// StoredDaily is a box's daily report as kept: the one of the day with the
// highest seq.
type StoredDaily struct {
	Daily
	Box, School, ReceivedAt string
}

// DailyReports returns the reports of a day, by school and box.
func (s *Store) DailyReports(ctx context.Context, day string) ([]StoredDaily, error) {
	return s.dailyReports(ctx, `day = ? ORDER BY school, box`, day)
}

// DailyReportsBetween returns the reports of the days from to to, both
// included (YYYY-MM-DD), by day, school and box.
func (s *Store) DailyReportsBetween(ctx context.Context, from, to string) ([]StoredDaily, error) {
	return s.dailyReports(ctx, `day >= ? AND day <= ? ORDER BY day, school, box`, from, to)
}

func (s *Store) dailyReports(ctx context.Context, where string, args ...any) ([]StoredDaily, error) {
	return queryAll(ctx, s.b.pool(), `SELECT box, school, day, id, seq, zero, late, total, pass, flag, retake,
		invalid, body, received_at FROM daily_reports WHERE `+where, args,
		func(scan func(...any) error, d *StoredDaily) error {
			var body string
			err := scan(&d.Box, &d.School, &d.Day, &d.ID, &d.Seq, &d.Zero, &d.Late, &d.Totals.Total,
				&d.Totals.Pass, &d.Totals.Flag, &d.Totals.Retake, &d.Totals.Invalid, &body, &d.ReceivedAt)
			d.Body = []byte(body)
			return err
		})
}

// HealthEvents returns the health and calibration events counted at or
// after since (TimeFormat; see StoredEvent.CountedAt), by box then seq.
func (s *Store) HealthEvents(ctx context.Context, since string) ([]StoredEvent, error) {
	return s.events(ctx, `kind IN ('health', 'calibration') AND counted_at >= ?`, since)
}

// SchoolCounts are a school's readings by verdict.
type SchoolCounts struct {
	School string
	Counts
}

// ReadingCounts counts each school's readings counted in [from, to)
// (TimeFormat) by verdict, drills apart: the day so far, before its
// daily reports are in. A reading counts at its capture, or at its arrival
// when its capture is implausible (StoredEvent.CountedAt). Schools without
// readings are absent.
func (s *Store) ReadingCounts(ctx context.Context, from, to string) ([]SchoolCounts, error) {
	type row struct {
		school, verdict string
		n               int64
	}
	verdict := s.b.jsonText("body", "verdict")
	rows, err := queryAll(ctx, s.b.pool(), `SELECT school, COALESCE(`+verdict+`, ''), COUNT(*) FROM events
		WHERE kind = 'reading' AND NOT drill AND counted_at >= ? AND counted_at < ?
		GROUP BY school, `+verdict+` ORDER BY school`, []any{from, to},
		func(scan func(...any) error, r *row) error { return scan(&r.school, &r.verdict, &r.n) })
	if err != nil {
		return nil, fmt.Errorf("%s: counting readings: %w", s.b.name(), err)
	}
	var out []SchoolCounts
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].School != r.school {
			out = append(out, SchoolCounts{School: r.school})
		}
		c := &out[len(out)-1].Counts
		c.Total += r.n
		switch r.verdict {
		case "pass":
			c.Pass += r.n
		case "flag":
			c.Flag += r.n
		case "retake":
			c.Retake += r.n
		case "invalid":
			c.Invalid += r.n
		}
	}
	return out, nil
}

// BoxActivity is what a box last sent, and how many of its events since a
// time came from an unsynchronised clock.
type BoxActivity struct {
	Box string
	// The event with the box's highest seq; Kind is "" before the first.
	// CountedAt differs from CapturedAt when the capture was implausible.
	Kind, CapturedAt, ReceivedAt, CountedAt string
	ClockSynced                             bool
	// Unsynced counts the events received since the time asked for that
	// carry clock_synced false.
	Unsynced int64
}

// Activity returns every bound box's newest event, by box, counting its
// unsynchronised-clock events received at or after since (TimeFormat).
func (s *Store) Activity(ctx context.Context, since string) ([]BoxActivity, error) {
	return queryAll(ctx, s.b.pool(), `SELECT b.box, COALESCE(e.kind, ''), COALESCE(e.captured_at, ''),
		COALESCE(e.received_at, ''), COALESCE(e.counted_at, ''), COALESCE(e.clock_synced, TRUE),
		(SELECT COUNT(*) FROM events u WHERE u.box = b.box AND u.received_at >= ? AND NOT u.clock_synced)
		FROM boxes b LEFT JOIN events e ON e.box = b.box AND e.seq = b.last_seq ORDER BY b.box`, []any{since},
		func(scan func(...any) error, a *BoxActivity) error {
			return scan(&a.Box, &a.Kind, &a.CapturedAt, &a.ReceivedAt, &a.CountedAt, &a.ClockSynced, &a.Unsynced)
		})
}

// QuarantineRow is a payload kept aside.
type QuarantineRow struct {
	ID                                int64
	Topic, Reason, Detail, ReceivedAt string
	Size                              int64
	Payload                           []byte
}

// Quarantine returns the quarantined payloads, oldest first.
func (s *Store) Quarantine(ctx context.Context) ([]QuarantineRow, error) {
	return queryAll(ctx, s.b.pool(), `SELECT id, topic, reason, detail, size, payload, received_at
		FROM quarantine ORDER BY id`, nil,
		func(scan func(...any) error, q *QuarantineRow) error {
			return scan(&q.ID, &q.Topic, &q.Reason, &q.Detail, &q.Size, &q.Payload, &q.ReceivedAt)
		})
}

// CountEvents counts the stored events.
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
	n, err := queryAll(ctx, s.b.pool(), `SELECT COUNT(*) FROM events`, nil,
		func(scan func(...any) error, n *int64) error { return scan(n) })
	if err != nil || len(n) != 1 {
		return 0, err
	}
	return n[0], nil
}

// LastSeq is a box's high-water mark of seq, committed (0 for a box not
// seen): the load generator's probe watches it for publish → committed.
func (s *Store) LastSeq(ctx context.Context, box string) (int64, error) {
	n, err := queryAll(ctx, s.b.pool(), `SELECT last_seq FROM boxes WHERE box = ?`, []any{box},
		func(scan func(...any) error, n *int64) error { return scan(n) })
	if err != nil || len(n) != 1 {
		return 0, err
	}
	return n[0], nil
}
