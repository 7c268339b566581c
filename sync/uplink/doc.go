// Package uplink sends the box's stored events to the district MQTT broker.
//
// The durable queue is the store's outbox, not the MQTT client: paho runs
// with a clean session, its in-memory store is wiped on every connect and
// its tokens are not trusted across reconnects. An event leaves the outbox
// (Outbox.Ack) only after the PUBACK of the message that held it arrived on
// the connection that sent it; every connection is a new paho client with
// its own epoch, and whatever was in flight when it ended is read again from
// the outbox and resent on the next one. The district therefore receives
// every event at least once and drops duplicates by the event id
// "<box>:<seq>"; Status counts the events that may arrive twice.
//
// Topics live under gatescreen/v1/<district>/<school>/<gate>: status
// (retained; online on every connect, offline as last will and on a clean
// shutdown), readings (batches of readings and gaps in sequence order),
// cases, health and daily (retained). docs/mqtt.md is the contract, with a
// JSON Schema per topic; testdata/mqtt holds the golden payloads.
//
// Urgent events (the store's priority queue: cases, health, flags, gaps,
// reports) always go before the bulk readings backlog, which drains in
// batches of Opts.BatchSize events at most Opts.RateLimit messages a second.
// Reconnects use a capped, jittered backoff so that a district's boxes do not
// all reconnect at once after a broker restart.
package uplink
