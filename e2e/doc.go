// Package e2e holds the end-to-end suite of gatescreen: it builds the real
// binary and runs `gatescreen run` against a real Mosquitto, simulated
// devices on pseudo-terminals (drivers/sim) and a real store file, then
// checks from the outside (an MQTT consumer, the screen's HTTP API, the
// local API socket and the bbolt file) that the promises of
// docs/RELIABILITY.md hold under power cuts, broker outages, device faults,
// disk pressure, a wrong clock and hostile clients.
//
// The tests carry the build tag e2e, so `go test ./...` skips them; run
// them with scripts/e2e.sh (go test -tags e2e ./e2e/...). Tests that need
// mosquitto skip when it is missing, and fail instead when CI=true.
package e2e
