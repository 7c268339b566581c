package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Payload is the JSON body of a webhook POST: one alert. Key is unique per
// cause; a receiver that may see an alert twice (the sender died between
// the receiver's 2xx and recording it) drops repeats by key.
type Payload struct {
	V        int             `json:"v"` // 1
	ID       int64           `json:"id"`
	Key      string          `json:"key"`
	Kind     string          `json:"kind"`
	District string          `json:"district,omitempty"`
	School   string          `json:"school"`
	Gate     string          `json:"gate,omitempty"`
	Box      string          `json:"box"`
	At       string          `json:"at"`
	Detail   string          `json:"detail"`
	Data     json.RawMessage `json:"data"`
	Attempt  int64           `json:"attempt"` // 1 on the first try
}

// batchLimit bounds the alerts one delivery pass reads.
const batchLimit = 100

// Deliver sends the alerts that are due, oldest first, and returns how
// many were delivered. A failure records the error and the next attempt
// (RetryMin doubling per attempt up to RetryMax) and ends the pass: the
// receiver is likely down, and the next pass tries again.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	pending, err := s.opts.Store.PendingAlerts(ctx, s.opts.Now(), batchLimit)
	if err != nil {
		return 0, fmt.Errorf("alert: reading undelivered alerts: %w", err)
	}
	delivered := 0
	for _, a := range pending {
		if err := s.post(ctx, a); err != nil {
			next := s.opts.Now().Add(s.backoff(a.Attempts))
			s.log.Warn().Err(err).Int64("alert", a.ID).Str("kind", a.Kind).Int64("attempt", a.Attempts+1).
				Time("next", next).Msg("webhook failed: retrying later")
			if ferr := s.opts.Store.AlertFailed(ctx, a.ID, next, err.Error()); ferr != nil {
				return delivered, ferr
			}
			return delivered, nil
		}
		if err := s.opts.Store.AlertDelivered(ctx, a.ID, s.opts.Now()); err != nil {
			return delivered, err
		}
		delivered++
		s.log.Info().Int64("alert", a.ID).Str("kind", a.Kind).Str("school", a.School).Msg("alert delivered")
	}
	return delivered, nil
}

// backoff is the wait after the attempts-th failure (0 after the first).
func (s *Service) backoff(attempts int64) time.Duration {
	d := s.opts.RetryMin
	for i := int64(0); i < attempts && d < s.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.opts.RetryMax)
}

func (s *Service) post(ctx context.Context, a store.Alert) error {
	body, err := json.Marshal(Payload{V: 1, ID: a.ID, Key: a.Key, Kind: a.Kind, District: a.District, School: a.School,
		Gate: a.Gate, Box: a.Box, At: a.At, Detail: a.Detail, Data: json.RawMessage(a.Data), Attempt: a.Attempts + 1})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.Webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set("Idempotency-Key", a.Key)
	resp, err := s.opts.Client.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the URL, which may hold a token
	}
	if err != nil {
		return fmt.Errorf("POST %s: %w", s.target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", s.target, resp.Status)
	}
	return nil
}
