// Package store keeps what the district ingests: every box's events
// (deduplicated by id, ordered by seq), its retained status and daily
// reports, the payloads kept aside in quarantine and the alerts raised on
// the way. One schema, with numbered migrations run on Open, behind two
// backends: an embedded SQLite file (modernc.org/sqlite, pure Go) and
// PostgreSQL (pgx, one statement per batch of events).
//
// A Batch is written in one transaction: when Write returns nil every row
// of it is committed, which is when the ingester may acknowledge its MQTT
// messages. Write is idempotent: a batch written twice (the broker
// redelivers what was never acknowledged) adds nothing the second time.
//
// # Box binding
//
// The first box seen under a topic prefix (district/school/gate) is bound
// to it, and each box to one prefix: a message that breaks either is
// quarantined (reason box_prefix). A replaced box is unbound by deleting its
// row from boxes and restarting the ingesters.
//
// # A clock that is off
//
// An event captured more than Opts.ClockSkew after, or Opts.MaxBacklog
// before, its arrival counts at
// its arrival (events.counted_at), which the screen's reads use, and
// raises box_clock; a daily report whose day is that far off is
// quarantined (reason clock), so that it cannot replace the day's real
// report by its higher seq.
package store
