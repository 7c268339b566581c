// Command gatescreen-district is the district's side of gatescreen: it
// ingests every box's MQTT messages into one database, raises and sends the
// alerts, and writes the daily summary (docs/district.md).
// It is a binary of its own so that the box's stays lean.
package main
