package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/schema"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// DefaultMaxPayload bounds a payload: the largest the contract produces is
// a readings batch of 200 events (some tens of KiB); anything near a
// mebibyte is not a box's.
const DefaultMaxPayload = 1 << 20

// Decoder checks one district's messages and turns them into store rows.
// It is safe for concurrent use.
type Decoder struct {
	district   string
	maxPayload int
	v          *schema.Validator
}

// NewDecoder makes a decoder for district's topics; maxPayload ≤ 0 means
// DefaultMaxPayload.
func NewDecoder(district string, maxPayload int) (*Decoder, error) {
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	v, err := schema.New()
	if err != nil {
		return nil, err
	}
	return &Decoder{district: district, maxPayload: maxPayload, v: v}, nil
}

// Decode returns the rows of one message, or the quarantine row that keeps
// it aside (exactly one of the two is non-nil).
func (d *Decoder) Decode(topic string, payload []byte, at time.Time) (*store.Message, *store.Quarantined) {
	refuse := func(reason, detail string) (*store.Message, *store.Quarantined) {
		return nil, &store.Quarantined{Topic: topic, Reason: reason, Detail: detail, Payload: payload, Size: len(payload), ReceivedAt: at}
	}
	site, kind, err := d.parseTopic(topic)
	if err != nil {
		return refuse(store.ReasonTopic, err.Error())
	}
	if len(payload) > d.maxPayload {
		return refuse(store.ReasonTooLarge, fmt.Sprintf("%d bytes, over the limit of %d", len(payload), d.maxPayload))
	}
	if err := d.v.Validate(kind, payload); err != nil {
		if errors.Is(err, schema.ErrMalformed) {
			return refuse(store.ReasonMalformed, err.Error())
		}
		return refuse(store.ReasonSchema, err.Error())
	}
	m := &store.Message{Topic: topic, Site: site, ReceivedAt: at, Payload: payload}
	if err := fill(m, kind, payload); err != nil {
		return refuse(store.ReasonBadID, err.Error())
	}
	return m, nil
}

// parseTopic splits gatescreen/v1/<district>/<school>/<gate>/<kind>.
func (d *Decoder) parseTopic(topic string) (store.Site, string, error) {
	levels := strings.Split(topic, "/")
	if len(levels) != 6 || levels[0] != "gatescreen" || levels[1] != "v1" {
		return store.Site{}, "", fmt.Errorf("topic %q is not gatescreen/v1/<district>/<school>/<gate>/<kind>", topic)
	}
	site := store.Site{District: levels[2], School: levels[3], Gate: levels[4]}
	if site.District != d.district {
		return store.Site{}, "", fmt.Errorf("topic %q is of district %q, not %q", topic, site.District, d.district)
	}
	if site.School == "" || site.Gate == "" {
		return store.Site{}, "", fmt.Errorf("topic %q has an empty school or gate", topic)
	}
	for _, k := range schema.Topics {
		if levels[5] == k {
			return site, k, nil
		}
	}
	return store.Site{}, "", fmt.Errorf("topic %q: unknown kind %q (want one of %s)", topic, levels[5], strings.Join(schema.Topics, ", "))
}

// envelope is what every payload and event object carries that the store
// indexes; the schema has checked the types already.
type envelope struct {
	Box         string `json:"box"`
	ID          string `json:"id"`
	Seq         int64  `json:"seq"`
	Kind        string `json:"kind"`
	CapturedAt  string `json:"captured_at"`
	ClockSynced bool   `json:"clock_synced"`
	Drill       bool   `json:"drill"`
}

// fill decodes a valid payload of kind into m.
func fill(m *store.Message, kind string, payload []byte) error {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return err
	}
	m.Box = env.Box
	switch kind {
	case "status":
		var st store.Status
		if err := json.Unmarshal(payload, &struct {
			State   *string `json:"state"`
			Reason  *string `json:"reason"`
			Since   *string `json:"since"`
			BootID  *string `json:"boot_id"`
			Version *string `json:"version"`
		}{&st.State, &st.Reason, &st.Since, &st.BootID, &st.Version}); err != nil {
			return err
		}
		m.Status = &st
		return nil
	case "readings":
		var batch struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(payload, &batch); err != nil {
			return err
		}
		for _, raw := range batch.Events {
			e, err := event(env.Box, raw)
			if err != nil {
				return err
			}
			m.Events = append(m.Events, e)
		}
		return nil
	}
	e, err := event(env.Box, payload)
	if err != nil {
		return err
	}
	m.Events = []store.Event{e}
	if kind == "daily" {
		return daily(m, e, payload)
	}
	return nil
}

// event decodes one event object of box's.
func event(box string, raw []byte) (store.Event, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return store.Event{}, err
	}
	if want := box + ":" + strconv.FormatInt(env.Seq, 10); env.ID != want {
		return store.Event{}, fmt.Errorf("event id %q in box %s's payload: want %q", env.ID, box, want)
	}
	body, err := canonical(raw)
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{ID: env.ID, Seq: env.Seq, Kind: env.Kind, CapturedAt: env.CapturedAt,
		ClockSynced: env.ClockSynced, Drill: env.Drill, Body: body}, nil
}

func daily(m *store.Message, e store.Event, payload []byte) error {
	var r struct {
		Day    string       `json:"day"`
		Zero   bool         `json:"zero"`
		Late   bool         `json:"late"`
		Totals store.Counts `json:"totals"`
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return err
	}
	m.Daily = &store.Daily{Day: r.Day, ID: e.ID, Seq: e.Seq, Zero: r.Zero, Late: r.Late, Totals: r.Totals, Body: e.Body}
	return nil
}

// canonical re-encodes an event object with sorted keys and numbers as
// sent, without the envelope's v and box (a single-event payload carries
// them; a readings batch's events do not): the same event has the same
// bytes however it arrived.
func canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	delete(obj, "v")
	delete(obj, "box")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
