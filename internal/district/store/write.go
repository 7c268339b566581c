package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// eventRow is an Event with what the message adds to it.
type eventRow struct {
	Event
	box        string
	site       Site
	hash       string
	receivedAt string
	at         time.Time // receivedAt as a time
	countedAt  string    // see Store.countedAt
	clockOff   bool      // countedAt is the arrival: the capture is implausible
}

// Write commits a batch in one transaction: the events (new ids inserted,
// a known id with the same body counted as a duplicate, with another body
// raising an alert), statuses, daily reports and quarantined payloads. On
// an error nothing of the batch is committed and the caller may retry it.
func (s *Store) Write(ctx context.Context, b *Batch) (Outcome, error) {
	t, err := s.b.begin(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: begin: %w", s.b.name(), err)
	}
	defer t.rollback()
	w := batchWriter{s: s, t: t, newlyBound: map[string]Site{}, clockRaised: map[string]bool{}}
	out, err := w.write(ctx, b)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", s.b.name(), err)
	}
	if err := t.commit(ctx); err != nil {
		return Outcome{}, fmt.Errorf("%s: commit: %w", s.b.name(), err)
	}
	s.mu.Lock()
	for box, site := range w.newlyBound {
		s.bound[box] = site
	}
	s.mu.Unlock()
	return out, nil
}

// batchWriter is one Write's transaction.
type batchWriter struct {
	s           *Store
	t           tx
	newlyBound  map[string]Site
	clockRaised map[string]bool // box_clock keys raised in this batch
}

func (w *batchWriter) write(ctx context.Context, b *Batch) (Outcome, error) {
	quarantine := append([]Quarantined(nil), b.Quarantine...)
	var (
		events   []eventRow
		statuses []Message
		dailies  []Message
	)
	for _, m := range b.Messages {
		ok, err := w.bind(ctx, m)
		if err != nil {
			return Outcome{}, fmt.Errorf("binding box %s to %s: %w", m.Box, m.Site, err)
		}
		if !ok {
			quarantine = append(quarantine, boxPrefixQuarantine(m))
			continue
		}
		if m.Daily != nil && !w.s.dailyPlausible(m.Daily.Day, m.ReceivedAt) {
			q, err := w.dailyClockQuarantine(ctx, m)
			if err != nil {
				return Outcome{}, err
			}
			quarantine = append(quarantine, q)
			continue
		}
		at := m.ReceivedAt.UTC().Format(TimeFormat)
		for _, e := range m.Events {
			sum := sha256.Sum256(e.Body)
			counted, off := w.s.countedAt(e.CapturedAt, m.ReceivedAt)
			events = append(events, eventRow{Event: e, box: m.Box, site: m.Site, hash: hex.EncodeToString(sum[:]),
				receivedAt: at, at: m.ReceivedAt, countedAt: counted, clockOff: off})
		}
		if m.Status != nil {
			statuses = append(statuses, m)
		}
		if m.Daily != nil {
			dailies = append(dailies, m)
		}
	}
	// Rows locked in one order by every writer: two PostgreSQL ingesters
	// updating the same boxes cannot deadlock. The sort is stable, so a
	// box's statuses keep their order of arrival.
	byBox := func(a, b Message) int { return strings.Compare(a.Box, b.Box) }
	slices.SortStableFunc(statuses, byBox)
	slices.SortStableFunc(dailies, byBox)
	out, err := w.events(ctx, events)
	if err != nil {
		return Outcome{}, err
	}
	for _, step := range []func() error{
		func() error { return w.statuses(ctx, statuses) },
		func() error { return w.dailies(ctx, dailies) },
		func() error { return w.touchBoxes(ctx, events) },
		func() error { return w.quarantine(ctx, quarantine) },
	} {
		if err := step(); err != nil {
			return Outcome{}, err
		}
	}
	out.Quarantined = len(quarantine)
	for _, q := range quarantine[len(b.Quarantine):] {
		if q.Reason == ReasonClock {
			out.ClockQuarantined++
		}
	}
	return out, nil
}

// boxPrefixQuarantine keeps aside a message refused by box binding.
func boxPrefixQuarantine(m Message) Quarantined {
	return Quarantined{
		Topic:      m.Topic,
		Reason:     ReasonBoxPrefix,
		Detail:     fmt.Sprintf("box %s is not the box bound to %s, or is bound to another prefix", m.Box, m.Site),
		Payload:    m.Payload,
		Size:       len(m.Payload),
		ReceivedAt: m.ReceivedAt,
	}
}

// bind reports whether the message's box and prefix belong together,
// binding both on first sight.
func (w *batchWriter) bind(ctx context.Context, m Message) (bool, error) {
	w.s.mu.Lock()
	site, known := w.s.bound[m.Box]
	w.s.mu.Unlock()
	if known {
		return site == m.Site, nil
	}
	if site, ok := w.newlyBound[m.Box]; ok {
		return site == m.Site, nil
	}
	at := m.ReceivedAt.UTC().Format(TimeFormat)
	if _, err := w.t.exec(ctx, `INSERT INTO boxes (box, district, school, gate, first_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, m.Box, m.Site.District, m.Site.School, m.Site.Gate, at); err != nil {
		return false, err
	}
	matches := 0
	ok := true
	err := w.t.query(ctx, `SELECT box, district, school, gate FROM boxes
		WHERE box = ? OR (district = ? AND school = ? AND gate = ?)`,
		[]any{m.Box, m.Site.District, m.Site.School, m.Site.Gate},
		func(scan func(...any) error) error {
			var box string
			var site Site
			if err := scan(&box, &site.District, &site.School, &site.Gate); err != nil {
				return err
			}
			matches++
			ok = ok && box == m.Box && site == m.Site
			if box == m.Box {
				w.newlyBound[box] = site
			}
			return nil
		})
	return err == nil && ok && matches == 1, err
}

// events inserts new events and sorts the rest into duplicates and
// conflicts.
func (w *batchWriter) events(ctx context.Context, rows []eventRow) (Outcome, error) {
	if len(rows) == 0 {
		return Outcome{}, nil
	}
	inserted, err := w.s.b.insertEvents(ctx, w.t, rows)
	if err != nil {
		return Outcome{}, fmt.Errorf("inserting events: %w", err)
	}
	out := Outcome{Inserted: len(inserted)}
	var again []eventRow
	var ids []string
	for _, r := range rows {
		if inserted[r.ID] {
			delete(inserted, r.ID) // the same id later in the batch is a duplicate
			if err := w.caseAlert(ctx, r); err != nil {
				return Outcome{}, err
			}
			if r.clockOff {
				if err := w.clockAlert(ctx, r); err != nil {
					return Outcome{}, err
				}
			}
			continue
		}
		again = append(again, r)
		ids = append(ids, r.ID)
	}
	if len(again) == 0 {
		return out, nil
	}
	stored, err := w.hashes(ctx, ids)
	if err != nil {
		return Outcome{}, fmt.Errorf("reading stored events: %w", err)
	}
	for _, r := range again {
		if stored[r.ID] == r.hash {
			out.Duplicates++
			continue
		}
		out.Conflicts++
		detail := fmt.Sprintf("event %s arrived again with another body (stored sha256 %.12s, new %.12s): %s", r.ID, stored[r.ID], r.hash, r.Body)
		if _, err := insertAlert(ctx, w.t, NewAlert{Kind: AlertConflict, School: r.site.School, Box: r.box,
			Detail: detail, At: r.at, Key: r.ID + ":" + r.hash}); err != nil {
			return Outcome{}, err
		}
	}
	return out, nil
}

// hashes returns the stored hash of each of ids that is stored.
func (w *batchWriter) hashes(ctx context.Context, ids []string) (map[string]string, error) {
	cond, arg, err := w.s.b.idIn(ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = w.t.query(ctx, `SELECT id, hash FROM events WHERE `+cond, []any{arg}, func(scan func(...any) error) error {
		var id, h string
		err := scan(&id, &h)
		out[id] = h
		return err
	})
	return out, err
}

// batchExecer is a transaction that sends many statements at once.
type batchExecer interface {
	// execBatch runs query once per argument list in one round trip; on an
	// error it says which list failed (-1: none in particular).
	execBatch(ctx context.Context, query string, args [][]any) (failed int, err error)
}

// execEach runs query once per item, with the arguments args gives; an
// error names the item. On PostgreSQL the statements go in one round
// trip: a batch from 500 boxes is 500 high-water-mark updates, which one
// at a time cost more than the events' one INSERT.
func execEach[T any](ctx context.Context, t tx, query string, items []T, args func(T) (what string, values []any)) error {
	if be, ok := t.(batchExecer); ok && len(items) > 1 {
		whats, values := make([]string, len(items)), make([][]any, len(items))
		for i, it := range items {
			whats[i], values[i] = args(it)
		}
		failed, err := be.execBatch(ctx, query, values)
		if err != nil && failed >= 0 {
			return fmt.Errorf("%s: %w", whats[failed], err)
		}
		return err
	}
	for _, it := range items {
		what, values := args(it)
		if _, err := t.exec(ctx, query, values...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// statuses keeps each box's latest status, in the order received. The
// same status again (the broker sends retained messages on every
// subscribe) keeps the time it first arrived: for a last will, which has no
// since, that is when the box went offline.
func (w *batchWriter) statuses(ctx context.Context, ms []Message) error {
	return execEach(ctx, w.t, `INSERT INTO box_status (box, state, reason, since, boot_id, version, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (box) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since,
			boot_id = excluded.boot_id, version = excluded.version,
			received_at = CASE WHEN box_status.state = excluded.state AND box_status.reason = excluded.reason
				AND box_status.since = excluded.since AND box_status.boot_id = excluded.boot_id
				THEN box_status.received_at ELSE excluded.received_at END`, ms,
		func(m Message) (string, []any) {
			st := m.Status
			return "status of " + m.Box, []any{m.Box, st.State, st.Reason, st.Since, st.BootID, st.Version,
				m.ReceivedAt.UTC().Format(TimeFormat)}
		})
}

// dailies keeps each box's report of a day: the highest seq wins, whatever
// the order of arrival.
func (w *batchWriter) dailies(ctx context.Context, ms []Message) error {
	return execEach(ctx, w.t, `INSERT INTO daily_reports
		(box, day, school, id, seq, zero, late, total, pass, flag, retake, invalid, body, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (box, day) DO UPDATE SET id = excluded.id, seq = excluded.seq, zero = excluded.zero,
			late = excluded.late, total = excluded.total, pass = excluded.pass, flag = excluded.flag,
			retake = excluded.retake, invalid = excluded.invalid, body = excluded.body,
			received_at = excluded.received_at
		WHERE excluded.seq > daily_reports.seq`, ms,
		func(m Message) (string, []any) {
			d := m.Daily
			return fmt.Sprintf("daily report %s of %s", d.Day, m.Box), []any{m.Box, d.Day, m.Site.School, d.ID, d.Seq,
				d.Zero, d.Late, d.Totals.Total, d.Totals.Pass, d.Totals.Flag, d.Totals.Retake, d.Totals.Invalid,
				string(d.Body), m.ReceivedAt.UTC().Format(TimeFormat)}
		})
}

// touchBoxes moves each box's high-water mark of seq (and the capture
// time of that event) and its last arrival.
func (w *batchWriter) touchBoxes(ctx context.Context, rows []eventRow) error {
	type mark struct {
		seq        int64
		capturedAt string
		receivedAt string
	}
	marks := map[string]mark{}
	for _, r := range rows {
		m, ok := marks[r.box]
		if !ok || r.Seq > m.seq {
			m.seq, m.capturedAt = r.Seq, r.CapturedAt
		}
		m.receivedAt = max(m.receivedAt, r.receivedAt)
		marks[r.box] = m
	}
	return execEach(ctx, w.t, `UPDATE boxes SET
		last_captured_at = CASE WHEN last_seq < ? THEN ? ELSE last_captured_at END,
		last_seq = CASE WHEN last_seq < ? THEN ? ELSE last_seq END,
		last_received_at = CASE WHEN last_received_at < ? THEN ? ELSE last_received_at END
		WHERE box = ?`, slices.Sorted(maps.Keys(marks)),
		func(box string) (string, []any) {
			m := marks[box]
			return "high-water mark of " + box, []any{m.seq, m.capturedAt, m.seq, m.seq, m.receivedAt, m.receivedAt, box}
		})
}

func (w *batchWriter) quarantine(ctx context.Context, qs []Quarantined) error {
	return execEach(ctx, w.t, `INSERT INTO quarantine (topic, reason, detail, size, payload, received_at)
		VALUES (?, ?, ?, ?, ?, ?)`, qs,
		func(q Quarantined) (string, []any) {
			payload := q.Payload
			if len(payload) > MaxQuarantinedPayload {
				payload = payload[:MaxQuarantinedPayload]
			}
			if payload == nil {
				payload = []byte{}
			}
			return "quarantining a payload of " + q.Topic, []any{q.Topic, q.Reason, q.Detail, q.Size, payload,
				q.ReceivedAt.UTC().Format(TimeFormat)}
		})
}
