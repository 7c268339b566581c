// Package demo runs a whole district on one machine for
// `gatescreen-district demo`: the embedded broker (internal/broker, the
// box's demo broker), a handful of simulated boxes publishing the MQTT
// contract's payloads, the ingester into SQLite in a temporary folder, the
// alert service and the district screen. One school never sends its zero
// report, so at the demo's deadline the screen shows 漏报 and the alert is
// raised; one box's connection drops, so its last will shows it offline.
package demo
