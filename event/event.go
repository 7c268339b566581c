package event

import (
	"encoding/json"
	"fmt"
)

// Kind is the type of an event; it decides the MQTT topic.
type Kind uint8

const (
	// KindReading is one screening measurement (Reading payload).
	KindReading Kind = iota + 1
	// KindCase is one re-check case transition (Case payload).
	KindCase
	// KindHealth is a device, storage, clock, calibration or pipeline
	// condition (Health payload).
	KindHealth
	// KindGap records readings purged before upload (Gap payload).
	KindGap
	// KindDaily is the day's report (Daily payload).
	KindDaily
	// KindCalibration is a calibration record (Calibration payload).
	KindCalibration
)

var kindNames = [...]string{
	KindReading:     "reading",
	KindCase:        "case",
	KindHealth:      "health",
	KindGap:         "gap",
	KindDaily:       "daily",
	KindCalibration: "calibration",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k >= KindReading && k <= KindCalibration }

// Topic is the last element of the MQTT topic the kind is published on.
func (k Kind) Topic() string {
	switch k {
	case KindReading, KindGap:
		return "readings"
	case KindCase:
		return "cases"
	case KindDaily:
		return "daily"
	default:
		return "health"
	}
}

// Event is the envelope of every stored record.
type Event struct {
	// Seq is assigned by storage: a persisted, strictly increasing uint64,
	// never reused. Zero until stored.
	Seq  uint64 `json:"seq"`
	Kind Kind   `json:"kind"`
	// Urgent events (flags, case transitions, health, gaps, reports) are
	// committed at once; others within the group-commit interval.
	Urgent bool `json:"urgent,omitempty"`
	// BootID and Mono (monotonic ns of that boot) place the event in time
	// even when the wall clock was wrong; Wall is Unix ns as read then and
	// ClockSynced says whether it could be trusted.
	BootID      string `json:"boot_id"`
	Mono        int64  `json:"mono"`
	Wall        int64  `json:"wall"`
	ClockSynced bool   `json:"clock_synced"`
	// Drill marks everything caused by an emergency drill.
	Drill bool `json:"drill,omitempty"`
	// Body is the JSON payload of the kind's type.
	Body json.RawMessage `json:"body"`
}

// New returns an event of kind k whose Body is payload marshalled to JSON.
func New(k Kind, payload any) (Event, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("event: marshal %s payload: %w", k, err)
	}
	return Event{Kind: k, Body: b}, nil
}

// Decode unmarshals the body into v, which must match the kind.
func (e *Event) Decode(v any) error {
	if err := json.Unmarshal(e.Body, v); err != nil {
		return fmt.Errorf("event: seq %d: decode %s body: %w", e.Seq, e.Kind, err)
	}
	return nil
}
