package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NewAlert is an alert to raise. Key names its cause: the same kind and
// key again raise nothing (the table's unique dedup_key).
type NewAlert struct {
	Kind, School, Box, Detail string
	// Data is a JSON object a receiver can act on; nil is {}.
	Data []byte
	At   time.Time
	Key  string
}

// Alert is a row of the alerts table, with the box's place when the box
// is bound.
type Alert struct {
	ID                            int64
	Kind, School, Box, Detail, At string
	Key                           string // kind:cause, unique
	District, Gate                string
	Data                          string // a JSON object
	// The webhook's delivery state: DeliveredAt is "" until a receiver
	// took it.
	Attempts                              int64
	NextAttemptAt, LastError, DeliveredAt string
}

// insertAlert raises a once; it reports whether the row is new.
func insertAlert(ctx context.Context, c conn, a NewAlert) (bool, error) {
	data := string(a.Data)
	if data == "" {
		data = "{}"
	}
	n, err := c.exec(ctx, `INSERT INTO alerts (kind, school, box, detail, at, dedup_key, data) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dedup_key) DO NOTHING`, a.Kind, a.School, a.Box, a.Detail, a.At.UTC().Format(TimeFormat), a.Kind+":"+a.Key, data)
	if err != nil {
		return false, fmt.Errorf("raising alert %s: %w", a.Kind, err)
	}
	return n == 1, nil
}

// RaiseAlert raises an alert once per cause; it reports whether it was new.
func (s *Store) RaiseAlert(ctx context.Context, a NewAlert) (bool, error) {
	return insertAlert(ctx, s.b.pool(), a)
}

const alertColumns = `SELECT a.id, a.kind, a.school, a.box, a.detail, a.at, a.dedup_key,
	COALESCE(b.district, ''), COALESCE(b.gate, ''), a.data, a.attempts, a.next_attempt_at, a.last_error, a.delivered_at
	FROM alerts a LEFT JOIN boxes b ON b.box = a.box `

func scanAlert(scan func(...any) error, a *Alert) error {
	return scan(&a.ID, &a.Kind, &a.School, &a.Box, &a.Detail, &a.At, &a.Key, &a.District, &a.Gate, &a.Data,
		&a.Attempts, &a.NextAttemptAt, &a.LastError, &a.DeliveredAt)
}

// Alerts returns the alerts, oldest first.
func (s *Store) Alerts(ctx context.Context) ([]Alert, error) {
	return queryAll(ctx, s.b.pool(), alertColumns+`ORDER BY a.id`, nil, scanAlert)
}

// RecentAlerts returns at most limit alerts raised at or after since
// (TimeFormat), newest first; of kinds only, unless kinds is empty. The
// kinds are chosen before the limit: a screen that shows some kinds is not
// left with none when others are many.
func (s *Store) RecentAlerts(ctx context.Context, since string, kinds []string, limit int) ([]Alert, error) {
	where, args := `WHERE a.at >= ? `, []any{since}
	if len(kinds) > 0 {
		where += `AND a.kind IN (?` + strings.Repeat(`, ?`, len(kinds)-1) + `) `
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	return queryAll(ctx, s.b.pool(), alertColumns+where+`ORDER BY a.id DESC LIMIT ?`, append(args, limit), scanAlert)
}

// PendingAlerts returns at most limit alerts not yet delivered whose next
// attempt is due at now, oldest first.
func (s *Store) PendingAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error) {
	return queryAll(ctx, s.b.pool(), alertColumns+`WHERE a.delivered_at = '' AND a.next_attempt_at <= ?
		ORDER BY a.id LIMIT ?`, []any{now.UTC().Format(TimeFormat), limit}, scanAlert)
}

// AlertDelivered records that a receiver took alert id at at.
func (s *Store) AlertDelivered(ctx context.Context, id int64, at time.Time) error {
	return s.alertUpdate(ctx, id, `UPDATE alerts SET attempts = attempts + 1, delivered_at = ?, last_error = '' WHERE id = ?`,
		at.UTC().Format(TimeFormat), id)
}

// AlertFailed records a failed delivery of alert id and when to try again.
func (s *Store) AlertFailed(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.alertUpdate(ctx, id, `UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`,
		next.UTC().Format(TimeFormat), reason, id)
}

func (s *Store) alertUpdate(ctx context.Context, id int64, query string, args ...any) error {
	n, err := s.b.pool().exec(ctx, query, args...)
	if err == nil && n != 1 {
		err = fmt.Errorf("no such alert")
	}
	if err != nil {
		return fmt.Errorf("%s: alert %d: %w", s.b.name(), id, err)
	}
	return nil
}
