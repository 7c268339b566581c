package uplink

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// Identity modes: what of a person's roster id leaves the box.
const (
	IdentityNone      = "none"
	IdentityPseudonym = "pseudonym"
	IdentityID        = "id"
)

// PayloadVersion is the "v" of every message; a consumer rejects others.
const PayloadVersion = 1

// envelopeKeys are the fields the uplink itself writes into an event object.
// A body field of the same name is renamed "<kind>_<name>" (calibration
// records carry their own "id") so that no field is lost or duplicated.
var envelopeKeys = []string{"v", "box", "events", "id", "seq", "kind", "captured_at",
	"clock_synced", "clock_corrected", "drill", "person", "body_raw"}

const bodyPersonKey = "person_id"

// timeKeys are the body members that hold an event.Time.
var timeKeys = map[string]bool{"opened_at": true, "at": true}

// capturedAtLayout is the wire's one time format.
const capturedAtLayout = event.TimeLayout

// encoder turns stored events into the JSON objects of docs/mqtt.md.
type encoder struct {
	boxJSON  []byte // the box id as a JSON string
	idPrefix []byte // `"id":"<box>:` (box escaped)
	identity string
	clock    Clock
	// renamed holds the body keys that clash with the envelope.
	renamed map[string]bool
	// mac and sum are reused for pseudonyms: the encoder serves one
	// connection's publisher goroutine at a time.
	mac hash.Hash
	sum [sha256.Size]byte
	// malformed counts bodies sent as "body_raw".
	malformed atomic.Uint64
}

func newEncoder(box, identity string, key []byte, clock Clock) (*encoder, error) {
	switch identity {
	case IdentityNone, IdentityID:
	case IdentityPseudonym:
		if len(key) == 0 {
			return nil, fmt.Errorf("uplink: identity %q needs a pseudonym key", identity)
		}
	default:
		return nil, fmt.Errorf("uplink: identity %q: want none, pseudonym or id", identity)
	}
	boxJSON, err := json.Marshal(box)
	if err != nil {
		return nil, fmt.Errorf("uplink: box id %q: %w", box, err)
	}
	e := &encoder{
		boxJSON:  boxJSON,
		idPrefix: append(append([]byte(`"id":`), boxJSON[:len(boxJSON)-1]...), ':'),
		identity: identity,
		clock:    clock,
		renamed:  make(map[string]bool, len(envelopeKeys)),
		mac:      hmac.New(sha256.New, key),
	}
	for _, k := range envelopeKeys {
		e.renamed[k] = true
	}
	return e, nil
}

// openBatch, batchEvent and closeBatch append the payload of a readings
// message: its head, each event (first tells the first), its end.
func (e *encoder) openBatch(dst []byte) []byte {
	dst = e.appendHead(dst)
	return append(dst, `,"events":[`...)
}

func (e *encoder) batchEvent(dst []byte, ev *event.Event, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '{')
	dst = e.appendEvent(dst, ev)
	return append(dst, '}')
}

func (e *encoder) closeBatch(dst []byte) []byte { return append(dst, "]}"...) }

// single returns the payload of a cases, health or daily message: the event
// object with "v" and "box" in front.
func (e *encoder) single(dst []byte, ev *event.Event) []byte {
	dst = e.appendHead(dst)
	dst = append(dst, ',')
	dst = e.appendEvent(dst, ev)
	return append(dst, '}')
}

func (e *encoder) appendHead(dst []byte) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, PayloadVersion, 10)
	dst = append(dst, `,"box":`...)
	return append(dst, e.boxJSON...)
}

// appendEvent appends the members (without braces) of the object of ev.
func (e *encoder) appendEvent(dst []byte, ev *event.Event) []byte {
	wall, synced := ev.Wall, ev.ClockSynced
	corrected := false
	if !synced && e.clock != nil {
		wall, synced = e.clock.Correct(ev.BootID, ev.Mono, ev.Wall, false)
		corrected = synced
	}
	dst = append(dst, e.idPrefix...)
	dst = strconv.AppendUint(dst, ev.Seq, 10)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, ev.Seq, 10)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, ev.Kind.String()...)
	dst = append(dst, `","captured_at":"`...)
	dst = time.Unix(0, wall).UTC().AppendFormat(dst, capturedAtLayout)
	dst = append(dst, `","clock_synced":`...)
	dst = strconv.AppendBool(dst, synced)
	if corrected {
		dst = append(dst, `,"clock_corrected":true`...)
	}
	dst = append(dst, `,"drill":`...)
	dst = strconv.AppendBool(dst, ev.Drill)
	return e.appendBody(dst, ev)
}

// appendBody merges the members of the event's JSON body. Bodies written by
// the pipeline are compact objects whose only special member, if any, is a
// plain person_id string; they are spliced as they are with that member
// replaced. Anything else is rewritten member by member.
func (e *encoder) appendBody(dst []byte, ev *event.Event) []byte {
	body := bytes.TrimSpace(ev.Body)
	if len(body) == 0 || string(body) == "null" {
		return dst
	}
	// Cases and calibrations are few, and a store written by an earlier
	// version holds their times as Unix nanoseconds: they always take the
	// rewrite, which sends those in the wire's one time format.
	rare := ev.Kind == event.KindCase || ev.Kind == event.KindCalibration
	if !rare && len(body) >= 2 && body[0] == '{' && body[len(body)-1] == '}' {
		if p, ok := e.scan(body); ok {
			dst = appendMembers(dst, body[1:p.from])
			if p.id != nil {
				dst = e.appendPerson(dst, string(p.id))
			}
			return appendMembers(dst, body[p.to:len(body)-1])
		}
	}
	out, err := e.rewriteBody(dst, ev.Kind, ev.Seq, body)
	if err != nil {
		// Never stall the queue on one bad record: ship it as a string so
		// that it is kept and seen, and let the consumer flag it.
		e.malformed.Add(1)
		raw, _ := json.Marshal(string(ev.Body))
		dst = append(dst, `,"body_raw":`...)
		return append(dst, raw...)
	}
	return out
}

// appendMembers appends a run of object members, trimmed of whitespace and
// of the commas left where a member was cut out.
func appendMembers(dst, members []byte) []byte {
	members = bytes.Trim(members, " \t\r\n,")
	if len(members) == 0 {
		return dst
	}
	dst = append(dst, ',')
	return append(dst, members...)
}

// personSpan locates the person_id member of a body: body[from:to] is cut
// out, id is its unescaped value (nil if absent).
type personSpan struct {
	from, to int
	id       []byte
}

// rewriteBody copies the body's members in their order, replacing
// person_id by "person" as the identity mode says and renaming members
// that would clash with the envelope. A calibration record stored with id 0
// is known by its event's seq (event.Calibration), and is sent as such. On
// error dst is returned unchanged.
func (e *encoder) rewriteBody(dst []byte, kind event.Kind, seq uint64, body []byte) ([]byte, error) {
	start := len(dst)
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return dst[:start], fmt.Errorf("body is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return dst[:start], err
		}
		key := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return dst[:start], err
		}
		if key == bodyPersonKey {
			var id string
			if err := json.Unmarshal(raw, &id); err != nil {
				return dst[:start], fmt.Errorf("person_id: %w", err)
			}
			dst = e.appendPerson(dst, id)
			continue
		}
		if kind == event.KindCalibration && key == "id" && string(raw) == "0" {
			raw = strconv.AppendUint(nil, seq, 10)
		}
		if (kind == event.KindCase || kind == event.KindCalibration) && timeKeys[key] && len(raw) > 0 && raw[0] != '"' {
			var t event.Time // legacy Unix nanoseconds
			if err := json.Unmarshal(raw, &t); err != nil {
				return dst[:start], fmt.Errorf("%s: %w", key, err)
			}
			raw, _ = t.MarshalJSON()
		}
		if e.renamed[key] {
			key = kind.String() + "_" + key
		}
		k, _ := json.Marshal(key)
		dst = append(dst, ',')
		dst = append(dst, k...)
		dst = append(dst, ':')
		dst = append(dst, raw...)
	}
	if _, err := dec.Token(); err != nil {
		return dst[:start], err
	}
	if dec.More() {
		return dst[:start], fmt.Errorf("trailing data after body")
	}
	return dst, nil
}

// appendPerson appends the "person" member for a roster id as the identity
// mode says. The id is written only in mode id, where it came from a JSON
// string of the body.
func (e *encoder) appendPerson(dst []byte, id string) []byte {
	if id == "" || e.identity == IdentityNone {
		return dst
	}
	dst = append(dst, `,"person":"`...)
	if e.identity == IdentityID {
		dst = appendJSONStringContent(dst, id)
	} else {
		dst = e.appendPseudonym(dst, id)
	}
	return append(dst, '"')
}

// appendJSONStringContent appends s escaped for the inside of a JSON string.
func appendJSONStringContent(dst []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(dst, q[1:len(q)-1]...)
}

func (e *encoder) appendPseudonym(dst []byte, id string) []byte {
	e.mac.Reset()
	e.mac.Write([]byte(id))
	sum := e.mac.Sum(e.sum[:0])
	return hex.AppendEncode(dst, sum)
}

// Pseudonym is the "person" sent for a roster id in identity mode
// pseudonym: hex HMAC-SHA256 of the id under the school's key. The district
// can match a person's events across days without learning who it is; the
// school, holding the key, can resolve it.
func Pseudonym(key []byte, rosterID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rosterID))
	return hex.EncodeToString(m.Sum(nil))
}

// statusMessage is the retained status message.
type statusMessage struct {
	V       int    `json:"v"`
	State   string `json:"state"`
	Box     string `json:"box"`
	BootID  string `json:"boot_id"`
	Version string `json:"version"`
	// Since is when the state began; absent in the last will, which the
	// broker publishes at a moment the box cannot know.
	Since  string `json:"since,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Status states and offline reasons.
const (
	StateOnline          = "online"
	StateOffline         = "offline"
	reasonShutdown       = "shutdown"
	reasonConnectionLost = "connection_lost"
)

func statusPayload(box, state, bootID, version string, since time.Time, reason string) []byte {
	p := statusMessage{V: PayloadVersion, State: state, Box: box, BootID: bootID, Version: version, Reason: reason}
	if !since.IsZero() {
		p.Since = since.UTC().Format(capturedAtLayout)
	}
	b, _ := json.Marshal(p) // strings only: cannot fail
	return b
}
