// Package modbusir polls RS-485 Modbus RTU infrared transmitters (Calex
// PyroUSB, Omega OS-MINI and the many "temperature ×10 in holding register
// 0" sensors) through github.com/simonvetter/modbus.
//
// The register map comes from the device's modbus block: slave id, object
// register (holding, or input with input: true), scale (default 0.1 °C per
// LSB), two's complement with signed: true, an optional ambient register and
// an optional status register whose masked bits mark a reading invalid
// (drivers.FlagStatus). The device is polled at rate_hz (default 2 Hz); each
// good poll emits one reading. A transmitter reads whoever stands in front of
// it for as long as they stand there, so the driver registers as continuous:
// the pipeline segments its polls into one measurement per person (against
// its ambient register, devices[].idle_c, or a learned idle value), as it
// does a GY-MCU90614 stream. Modbus exceptions, timeouts and garbled
// frames are counted (Stats); a garbled frame also emits an invalid reading
// (drivers.FlagChecksum). After MaxFailures consecutive failed polls Run
// returns an error so the daemon reopens the port with backoff.
//
// # Why a loopback bridge
//
// Drivers never open ports: the daemon opens the serial port and hands it
// over. simonvetter/modbus v1.6.4 cannot run RTU over a port it did not open
// itself: its RTU transport takes an unexported link type, and its "rtu://"
// client opens the device path with its own serial library (goburrow/serial),
// which would bypass the daemon's port handling and the pseudo-terminals the
// demo and the tests use. Its "rtuovertcp://" client, however, runs the very
// same RTU framing (CRC-16, t3.5 inter-frame gaps, exception decoding) over
// a TCP stream. So Run listens on 127.0.0.1 port 0, lets the client connect,
// stops listening after that one connection, and copies bytes between the
// connection and the opened serial port. The cost is a loopback socket and
// two copying goroutines per device, a few microseconds per frame next to
// the milliseconds a 9600-baud frame takes on the wire. Another local process
// racing to connect first could only make the polls time out, which Run
// reports like a dead device.
package modbusir
