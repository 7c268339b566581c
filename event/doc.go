// Package event defines the records the box keeps and uploads: the envelope
// stored in bbolt under a sequence number, and one payload type per kind
// (reading, case transition, health, gap, daily report, calibration).
//
// The JSON form of the payloads is the public MQTT contract described in
// docs/mqtt.md: fields may be added, never renamed or removed, without a new
// "v". The package is a leaf: pipeline, storage, the uplink and the screen
// all speak it, and it imports none of them.
package event
