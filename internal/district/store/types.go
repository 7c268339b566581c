package store

import "time"

// TimeFormat is the contract's one time format, also used for every time
// the district stamps itself (received_at, first_seen, an alert's at).
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Site is a topic prefix's place: gatescreen/v1/<district>/<school>/<gate>.
type Site struct {
	District, School, Gate string
}

func (s Site) String() string { return s.District + "/" + s.School + "/" + s.Gate }

// Event is one event object of the contract (a reading, gap, case, health,
// calibration or daily event).
type Event struct {
	ID          string // "<box>:<seq>", the deduplication key
	Seq         int64
	Kind        string
	CapturedAt  string // as the box sent it (TimeFormat)
	ClockSynced bool
	Drill       bool
	// Body is the event object as canonical JSON (keys sorted, numbers as
	// sent): two deliveries of one event have the same Body.
	Body []byte
}

// Status is a box's retained online/offline message.
type Status struct {
	State   string // online, offline
	Reason  string // shutdown, connection_lost, or "" when online
	Since   string // "" for the broker's last will, which cannot know
	BootID  string
	Version string
}

// Counts are a daily report's totals.
type Counts struct {
	Total, Pass, Flag, Retake, Invalid int64
}

// Daily is a box's daily report, kept per box and day: the one with the
// highest seq wins.
type Daily struct {
	Day    string // YYYY-MM-DD, the school's day
	ID     string
	Seq    int64
	Zero   bool
	Late   bool
	Totals Counts
	Body   []byte // canonical JSON of the report
}

// Message is what one valid MQTT message adds: its events, or a status, or
// a daily report (which is also an event).
type Message struct {
	Topic      string
	Site       Site
	Box        string
	ReceivedAt time.Time
	// Payload is the message as received, kept if box binding refuses it.
	Payload []byte
	Events  []Event
	Status  *Status
	Daily   *Daily
}

// Quarantined is a payload kept aside: it is never dropped in silence.
type Quarantined struct {
	Topic      string
	Reason     string // a Reason* constant
	Detail     string // what was wrong, for a person
	Payload    []byte // at most MaxQuarantinedPayload bytes of it
	Size       int    // the payload's size as received
	ReceivedAt time.Time
}

// The reasons a payload is quarantined.
const (
	ReasonTooLarge  = "too_large"     // over the ingester's size limit
	ReasonMalformed = "malformed"     // not JSON
	ReasonSchema    = "schema"        // JSON the contract's schema refuses
	ReasonTopic     = "unknown_topic" // not gatescreen/v1/<district>/<school>/<gate>/<known kind>
	ReasonBadID     = "bad_id"        // an event id that is not "<the payload's box>:<its seq>"
	ReasonBoxPrefix = "box_prefix"    // a box under another box's topic prefix (see Box binding)
	ReasonClock     = "clock"         // a daily report whose day is outside the clock skew or the longest backlog of its arrival
)

// MaxQuarantinedPayload bounds the bytes of one payload kept in quarantine;
// Size still says how large it was.
const MaxQuarantinedPayload = 64 << 10

// Batch is written in one transaction.
type Batch struct {
	Messages   []Message
	Quarantine []Quarantined
}

// Outcome counts what a Write did.
type Outcome struct {
	Inserted    int // new events
	Duplicates  int // events already stored with the same body
	Conflicts   int // events already stored with another body: an alert each
	Quarantined int // payloads kept aside, including messages refused by box binding
	// Of Quarantined, the daily reports refused for their day (ReasonClock);
	// the others the Write refused are ReasonBoxPrefix.
	ClockQuarantined int
}

// Add sums two outcomes.
func (o Outcome) Add(p Outcome) Outcome {
	return Outcome{o.Inserted + p.Inserted, o.Duplicates + p.Duplicates, o.Conflicts + p.Conflicts, o.Quarantined + p.Quarantined,
		o.ClockQuarantined + p.ClockQuarantined}
}

// The kinds of alert. The store raises the first three and box_clock as it writes the
// events behind them; the alert service raises the others on its clock.
const (
	AlertConflict      = "event_conflict"    // one id, two bodies
	AlertCaseConfirmed = "case_confirmed"    // a re-check confirmed the fever
	AlertCaseCDC       = "case_cdc_transfer" // a case referred to the CDC
	AlertDailyMissing  = "daily_missing"     // no daily report of a gate by the district's deadline
	AlertBoxOffline    = "box_offline"       // a box offline too long inside school hours
	AlertClock         = "box_clock"         // a box's capture time or report day outside the clock skew or the longest backlog of its arrival
)
