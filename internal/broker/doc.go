// Package broker runs the embedded MQTT broker of `gatescreen demo`
// (mochi-mqtt), so the demo publishes real MQTT with nothing installed. It
// listens on loopback only and lets any local client in: it stands in for
// the district's authenticated broker, it is not one.
package broker
