// Package loadgen simulates many gatescreen boxes against a district
// broker, speaking the real contract (docs/mqtt.md) with simbox's payloads:
// each box connects with its last will (the retained offline status),
// publishes its retained online status, screens people as a morning rush
// brings them (three staggered arrival windows, as at a real school gate)
// and sends its readings in batches the way the box's uplink drains its
// outbox (what is pending when a send slot frees, at most 200 events, at
// most 16 messages in flight), each flag followed by its re-check case,
// and at the end its retained daily report and a clean offline status.
//
// It reports the events sent per second and the broker's PUBACK latency;
// given the district's database it also runs a probe box whose readings it
// watches arrive there (publish → committed, and the age of the oldest
// probe not yet committed).
package loadgen
