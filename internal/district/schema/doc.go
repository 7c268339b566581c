// Package schema validates the payloads boxes publish against the JSON
// Schemas of the MQTT contract (docs/mqtt.md). The schemas are compiled into
// the binary: v1/ is a copy of testdata/mqtt/schema, which stays the one
// source of truth (the box's tests check its encoder against it, and this
// package's test fails when the copy differs).
package schema
