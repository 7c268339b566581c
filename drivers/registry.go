package drivers

import (
	"fmt"
	"sort"
	"sync"
)

// Transport says what the daemon must open before calling a driver.
type Transport uint8

const (
	// Serial drivers get Conn.Port: a serial port opened at Device.Baud.
	Serial Transport = iota + 1
	// I2C drivers get Conn.Bus: the I²C bus named by Device.Bus.
	I2C
)

// Driver describes one protocol.
type Driver struct {
	// Name is the value of devices[].driver in the configuration.
	Name      string
	Transport Transport
	// Continuous drivers stream readings many times a second while a person
	// stands in front of them; the pipeline segments their stream into one
	// measurement per person. One-shot drivers report one frame per person.
	Continuous bool
	// Bauds lists the serial speeds the device supports (serial only); the
	// first is the default.
	Bauds []int
	// Validate checks the driver-specific part of a device's configuration and
	// returns one error per bad field; nil means valid.
	Validate func(d Device) []FieldError
	// New builds a Source for the device on an opened port or bus.
	New func(d Device, c Conn) (Source, error)
}

// FieldError names a bad configuration field relative to the device, e.g.
// Field "modbus.scale", and the value found.
type FieldError struct {
	Field string
	Value any
	Msg   string
}

func (e FieldError) Error() string { return fmt.Sprintf("%s: %v %s", e.Field, e.Value, e.Msg) }

var (
	registryMu sync.RWMutex
	registry   = map[string]Driver{}
)

// Register adds a driver. It panics on an empty or duplicate name or a missing
// constructor: those are programming errors, found at start-up.
func Register(d Driver) {
	registryMu.Lock()
	defer registryMu.Unlock()
	switch {
	case d.Name == "":
		panic("drivers: Register with an empty name")
	case d.New == nil:
		panic(fmt.Sprintf("drivers: Register %q without New", d.Name))
	}
	if _, dup := registry[d.Name]; dup {
		panic(fmt.Sprintf("drivers: Register called twice for %q", d.Name))
	}
	registry[d.Name] = d
}

// Lookup returns the driver registered under name.
func Lookup(name string) (Driver, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	d, ok := registry[name]
	return d, ok
}

// Names returns the registered driver names, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
