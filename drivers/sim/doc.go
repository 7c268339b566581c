// Package sim is the simulated school gate used by the demo and by tests: a
// few devices that speak the real byte protocols (GY-MCU90614 frames, ASCII
// gate lines, badge UIDs, MLX90614 SMBus words) with no hardware attached.
//
// A Scenario (YAML, see testdata/scenarios and the embedded demo) describes
// the devices, how many people arrive per minute, how many have a fever or a
// cold forehead, and the faults to inject: garbage bytes and unplugging.
// Start runs it: serial devices own the master side of a pseudo-terminal and
// the daemon opens the slave path with go.bug.st/serial exactly as it would
// open /dev/ttyUSB0; MLX90614 sensors and the thermal arrays (MLX90640,
// AMG8833: ArrayBus, people rendered by RenderView walking up, standing and
// stepping aside) are periph i2c buses registered with i2creg, so a device
// config `bus: <name>` opens them.
//
// Everything a scenario sends is drawn from math/rand/v2 seeded by the
// scenario's seed and the device name, so the people a device presents are
// known in advance (Scenario.People) and reported as they are sent
// (Gate.Sent): tests compare what the daemon decided with that truth.
//
// The encoders (EncodeGYMCU, LineFormat, MLXResponse) are exported
// for the tests of the real drivers.
//
// # Person model
//
// A person's body temperature is 36.1–37.1 °C, or 37.4–39.0 °C for the
// fever share. Their forehead (skin) reads the body temperature minus the
// device's skin offset, or 33–35 °C for the cold-weather share (people who
// just came in from a cold street, Dzien et al. 2020). Skin-mode devices
// (gymcu90614, mlx90614) report the skin value; body-mode gates (lineproto)
// report skin plus the offset, their own compensation, so a cold forehead
// reads low there too and must be retaken.
//
// Continuous sensors stream the background (about ambient) while nobody is
// there; a person gives a 300 ms approach ramp, a plateau for the dwell time
// and a 300 ms leave ramp. Arrivals are a Poisson process, spaced so two
// people never overlap in front of one sensor.
package sim
