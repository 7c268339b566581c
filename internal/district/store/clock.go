package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// countedAt is the time an event counts at: its capture, or its arrival
// when the capture is more than the skew after it, more than the longest
// backlog before it, or unreadable. A box's clock a year off would
// otherwise put its readings on a day nobody looks at, and its backlog at
// 525,600 minutes.
func (s *Store) countedAt(capturedAt string, received time.Time) (at string, off bool) {
	c, err := time.Parse(time.RFC3339Nano, capturedAt)
	if ahead := c.Sub(received); err != nil || ahead > s.skew || -ahead > s.maxBacklog {
		return received.UTC().Format(TimeFormat), true
	}
	return capturedAt, false
}

// dailyPlausible reports whether a daily report of day (YYYY-MM-DD, the
// school's day) can have been sent at received: from the day's start in
// the earliest time zone (UTC+14), less the skew, to its end in the latest
// (UTC−12) plus the longest backlog. The ingester knows no district zone;
// a box a day ahead is caught, one a day behind is a late report.
func (s *Store) dailyPlausible(day string, received time.Time) bool {
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return false
	}
	from := d.Add(-14*time.Hour - s.skew)
	to := d.Add(36*time.Hour + s.maxBacklog)
	return !received.Before(from) && !received.After(to)
}

// offText says how far a clock is off, for a person.
func offText(d time.Duration) string {
	way := "ahead"
	if d < 0 {
		way, d = "behind", -d
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days %s", int(d/(24*time.Hour)), way)
	}
	return fmt.Sprintf("%.1f h %s", d.Hours(), way)
}

// clockAlert raises box_clock for an event whose capture is implausible:
// once per box and day of arrival (UTC), however many of its events are.
func (w *batchWriter) clockAlert(ctx context.Context, r eventRow) error {
	key := r.box + ":" + r.at.UTC().Format("2006-01-02")
	if w.clockRaised[key] {
		return nil
	}
	w.clockRaised[key] = true
	off := "unreadable"
	if c, err := time.Parse(time.RFC3339Nano, r.CapturedAt); err == nil {
		off = offText(c.Sub(r.at))
	}
	data, err := json.Marshal(map[string]string{"gate": r.site.Gate, "id": r.ID, "captured_at": r.CapturedAt, "received_at": r.receivedAt})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("门岗时钟偏差 clock off: %s %s, event %s captured %s arrived %s (%s); counted at its arrival",
		r.site.School, r.site.Gate, r.ID, r.CapturedAt, r.receivedAt, off)
	_, err = insertAlert(ctx, w.t, NewAlert{Kind: AlertClock, School: r.site.School, Box: r.box, Detail: detail,
		Data: data, At: r.at, Key: key})
	return err
}

// dailyClockQuarantine keeps aside a daily report whose day disagrees with
// its arrival by more than the skew, so that it cannot replace the day's
// real report (the highest seq wins), and raises box_clock for it.
func (w *batchWriter) dailyClockQuarantine(ctx context.Context, m Message) (Quarantined, error) {
	d := m.Daily
	at := m.ReceivedAt.UTC().Format(TimeFormat)
	data, err := json.Marshal(map[string]string{"gate": m.Site.Gate, "id": d.ID, "day": d.Day, "received_at": at})
	if err != nil {
		return Quarantined{}, err
	}
	detail := fmt.Sprintf("日报日期与收到时间不符 daily report's day off: %s %s, report %s of %s arrived %s; quarantined, the day's report kept",
		m.Site.School, m.Site.Gate, d.ID, d.Day, at)
	if _, err := insertAlert(ctx, w.t, NewAlert{Kind: AlertClock, School: m.Site.School, Box: m.Box, Detail: detail,
		Data: data, At: m.ReceivedAt, Key: "daily:" + m.Box + ":" + d.Day}); err != nil {
		return Quarantined{}, err
	}
	return Quarantined{Topic: m.Topic, Reason: ReasonClock, Payload: m.Payload, Size: len(m.Payload), ReceivedAt: m.ReceivedAt,
		Detail: fmt.Sprintf("daily report of %s arrived %s: outside the clock skew %s ahead or the backlog of %s behind", d.Day, at, w.s.skew, w.s.maxBacklog)}, nil
}
