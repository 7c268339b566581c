// Package ingest turns the boxes' MQTT messages into the district's
// database: a shared subscription to one district's topic tree, QoS 1 on a
// persistent session, and manual acknowledgement — a message is
// acknowledged only once its rows (or its quarantine row) are committed, so
// a killed ingester or a database that goes away loses nothing: the broker
// sends again what was never acknowledged, and the store drops what it
// already has.
//
// Decoder is the pure part (topic, size, schema, ids → store rows or a
// quarantine row); Ingester is the MQTT loop around it: batching, writing
// with retries and backoff, acknowledging.
package ingest
