package drivers

// Device is one entry of devices[] in the configuration. The generic fields
// are checked by the config package; the driver checks its own block through
// Driver.Validate.
type Device struct {
	// Name identifies the device in logs, events and lanes[].device.
	Name string `yaml:"name"`
	// Driver is a registered driver name (see Names).
	Driver string `yaml:"driver"`

	// Port is the serial device path (serial drivers), e.g. /dev/ttyUSB0.
	Port string `yaml:"port,omitempty"`
	// Baud is the serial speed; 0 means the driver's default.
	Baud int `yaml:"baud,omitempty"`
	// Parity of the serial line: "none" (default), "even" or "odd". The
	// Modbus RTU standard's default is even; many IR transmitters ship
	// with none.
	Parity string `yaml:"parity,omitempty"`

	// Bus is the periph I²C bus name (I²C drivers), e.g. "1" or "/dev/i2c-1";
	// empty means the first bus.
	Bus string `yaml:"bus,omitempty"`
	// Address is the 7-bit I²C address; 0 means the driver's default.
	Address uint16 `yaml:"address,omitempty"`

	// RateHz is how often a polled or streaming device is read; 0 means the
	// driver's default (MLX90614 8 Hz, Modbus 2 Hz).
	RateHz float64 `yaml:"rate_hz,omitempty"`

	// Mode is "body" when the device already reports body temperature, or
	// "skin" when the pipeline must add OffsetC (and apply Gain).
	Mode string `yaml:"mode,omitempty"`
	// OffsetC is added to skin readings in mode "skin"; a stored calibration
	// record overrides it.
	OffsetC float64 `yaml:"offset_c,omitempty"`
	// Gain multiplies skin readings before the offset; 0 means 1.
	Gain float64 `yaml:"gain,omitempty"`
	// IdleC is the value a streaming or polled device reads with nobody in
	// front of it, for one that reports no ambient temperature: presence is
	// measured against it. Nil: learned from the idle readings.
	IdleC *float64 `yaml:"idle_c,omitempty"`

	// Query makes a GY-MCU90614 answer on request (A5 15 BA) at RateHz
	// instead of streaming continuously.
	Query bool `yaml:"query,omitempty"`

	// Modbus holds the register map of a modbusir device.
	Modbus *ModbusOpts `yaml:"modbus,omitempty"`
	// Line holds the line format of a lineproto device.
	Line *LineOpts `yaml:"line,omitempty"`
}

// ModbusOpts is the register map of an RS-485 Modbus RTU IR transmitter.
type ModbusOpts struct {
	// SlaveID is the unit address, 1–247.
	SlaveID uint8 `yaml:"slave_id"`
	// Register is the object temperature register (0-based).
	Register uint16 `yaml:"register"`
	// Input reads input registers (function 4) instead of holding (3).
	Input bool `yaml:"input,omitempty"`
	// Scale converts the raw register to °C; 0 means 0.1.
	Scale float64 `yaml:"scale,omitempty"`
	// Signed reads the registers as two's complement.
	Signed bool `yaml:"signed,omitempty"`
	// AmbientRegister, when set, is read for the ambient temperature.
	AmbientRegister *uint16 `yaml:"ambient_register,omitempty"`
	// StatusRegister, when set, is read on every poll; any bit of StatusMask
	// set marks the reading invalid.
	StatusRegister *uint16 `yaml:"status_register,omitempty"`
	// StatusMask selects the fault bits; 0 means every bit.
	StatusMask uint16 `yaml:"status_mask,omitempty"`
}

// LineOpts describes the ASCII lines of a walk-through gate or IR gun.
type LineOpts struct {
	// Pattern is a Go regular expression with the named group temp
	// (required) and optionally ambient, alarm and count.
	Pattern string `yaml:"pattern"`
	// Unit is "C" (default) or "F".
	Unit string `yaml:"unit,omitempty"`
	// LineEnd is the line terminator: "\n" (default), "\r\n" or "\r".
	LineEnd string `yaml:"line_end,omitempty"`
	// MaxLine bounds a line in bytes; longer lines are dropped and counted.
	// 0 means 256.
	MaxLine int `yaml:"max_line,omitempty"`
}
