package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// caseTransition is what a case event says about the case.
type caseTransition struct {
	Ticket      string   `json:"ticket"`
	Day         string   `json:"day"`
	Lane        string   `json:"lane"`
	State       string   `json:"state"`
	Disposition string   `json:"disposition"`
	RecheckC    *float64 `json:"recheck_c"`
}

// caseAlert raises, in the transaction that stores a new case event, the
// alert its transition calls for: a fever confirmed on re-check, or a case
// referred to the CDC. A drill's case raises none. The key is the case
// (box, day, ticket) and the cause, so a case confirmed twice (the box
// re-sent the transition under a new seq) alerts once.
func (w *batchWriter) caseAlert(ctx context.Context, r eventRow) error {
	if r.Kind != "case" || r.Drill {
		return nil
	}
	var c caseTransition
	if err := json.Unmarshal(r.Body, &c); err != nil {
		return fmt.Errorf("case event %s: %w", r.ID, err)
	}
	var kind, what string
	switch {
	case c.State == "confirmed":
		kind, what = AlertCaseConfirmed, "复测确认发热 fever confirmed on re-check"
	case c.State == "referred" && c.Disposition == "cdc_transfer":
		kind, what = AlertCaseCDC, "转疾控 referred to the CDC"
	default:
		return nil
	}
	detail := fmt.Sprintf("%s: %s %s, case %s of %s (%s)", what, r.site.School, r.site.Gate, c.Ticket, c.Day, c.Lane)
	if c.RecheckC != nil {
		detail += fmt.Sprintf(", re-check %.2f °C", *c.RecheckC)
	}
	_, err := insertAlert(ctx, w.t, NewAlert{Kind: kind, School: r.site.School, Box: r.box, Detail: detail,
		Data: r.Body, At: r.at, Key: r.box + ":" + c.Day + ":" + c.Ticket})
	return err
}
