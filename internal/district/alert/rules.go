package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Check runs the clock's rules once at now and returns how many alerts it
// raised; an alert raised before is not raised again.
func (s *Service) Check(ctx context.Context, now time.Time) (int, error) {
	boxes, err := s.opts.Store.Boxes(ctx)
	if err != nil {
		return 0, fmt.Errorf("alert: reading boxes: %w", err)
	}
	var alerts []store.NewAlert
	for _, b := range boxes {
		if !s.opts.Schedule.For(b.Site.School).InSchoolHours(now) { // the school's own hours
			continue
		}
		if a, ok := s.offline(b, now); ok {
			alerts = append(alerts, a)
		}
	}
	missing, err := s.missingDaily(ctx, boxes, now)
	if err != nil {
		return 0, err
	}
	raised := 0
	for _, a := range append(alerts, missing...) {
		ok, err := s.opts.Store.RaiseAlert(ctx, a)
		if err != nil {
			return raised, err
		}
		if ok {
			raised++
			s.log.Warn().Str("kind", a.Kind).Str("school", a.School).Str("box", a.Box).Str("detail", a.Detail).Msg("alert raised")
		}
	}
	return raised, nil
}

// offline is the alert for a box whose retained status has said offline
// for longer than OfflineAfter. It went offline at its status's since, or,
// for the broker's last will (which has none), when the will arrived.
func (s *Service) offline(b store.Box, now time.Time) (store.NewAlert, bool) {
	if b.Status.State != "offline" {
		return store.NewAlert{}, false
	}
	since := b.Status.Since
	if since == "" {
		since = b.StatusReceivedAt
	}
	t, err := time.Parse(store.TimeFormat, since)
	if err != nil || now.Sub(t) <= s.opts.OfflineAfter {
		return store.NewAlert{}, false
	}
	data, _ := json.Marshal(map[string]any{
		"gate": b.Site.Gate, "offline_since": since, "reason": b.Status.Reason, "minutes": int(now.Sub(t) / time.Minute),
	})
	return store.NewAlert{
		Kind: store.AlertBoxOffline, School: b.Site.School, Box: b.Box, Data: data, At: now, Key: b.Box + ":" + since,
		Detail: fmt.Sprintf("设备离线 box offline: %s %s (%s) offline since %s (%s), over %s",
			b.Site.School, b.Site.Gate, b.Box, t.In(s.opts.Schedule.Loc).Format("2006-01-02 15:04"), reasonOf(b.Status), s.opts.OfflineAfter),
	}, true
}

func reasonOf(st store.Status) string {
	if st.Reason == "" {
		return "no reason given"
	}
	return st.Reason
}

// missingDaily returns an alert per gate without a daily report of the
// last day whose deadline (its school's) has passed, if that was a school
// day. A zero report is a report. A box first seen after the deadline owed
// none.
func (s *Service) missingDaily(ctx context.Context, boxes []store.Box, now time.Time) ([]store.NewAlert, error) {
	sent := map[string]map[string]bool{} // day → boxes that reported; at most two days
	var out []store.NewAlert
	for _, b := range boxes {
		sched := s.opts.Schedule.For(b.Site.School)
		day, deadline := sched.LastDue(now)
		if !sched.SchoolDay(day) {
			continue
		}
		if sent[day] == nil {
			reports, err := s.opts.Store.DailyReports(ctx, day)
			if err != nil {
				return nil, fmt.Errorf("alert: reading the daily reports of %s: %w", day, err)
			}
			sent[day] = map[string]bool{}
			for _, r := range reports {
				sent[day][r.Box] = true
			}
		}
		dl := deadline.UTC().Format(store.TimeFormat)
		if sent[day][b.Box] || b.FirstSeen >= dl {
			continue
		}
		data, _ := json.Marshal(map[string]string{"gate": b.Site.Gate, "day": day, "deadline": dl})
		out = append(out, store.NewAlert{
			Kind: store.AlertDailyMissing, School: b.Site.School, Box: b.Box, Data: data, At: now, Key: b.Box + ":" + day,
			Detail: fmt.Sprintf("漏报 daily report missing: %s %s (%s) sent no report of %s by %s",
				b.Site.School, b.Site.Gate, b.Box, day, deadline.In(s.opts.Schedule.Loc).Format("15:04 MST")),
		})
	}
	return out, nil
}
