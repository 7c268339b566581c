package config_test

import (
	"errors"

	"github.com/gatescreen/gatescreen/drivers"
	_ "github.com/gatescreen/gatescreen/drivers/all"
)

// The real drivers come from drivers/all. A test-only driver with its own
// Validate checks how a driver's field errors are placed in the file.
func init() {
	drivers.Register(drivers.Driver{
		Name:      "configtest",
		Transport: drivers.Serial,
		Bauds:     []int{9600},
		New:       unusable,
		Validate: func(d drivers.Device) []drivers.FieldError {
			switch {
			case d.Modbus == nil:
				return []drivers.FieldError{{Field: "modbus", Msg: "is required"}}
			case d.Modbus.SlaveID == 0 || d.Modbus.SlaveID > 247:
				return []drivers.FieldError{{Field: "modbus.slave_id", Value: d.Modbus.SlaveID, Msg: "is out of range 1–247"}}
			}
			return nil
		},
	})
}

func unusable(drivers.Device, drivers.Conn) (drivers.Source, error) {
	return nil, errors.ErrUnsupported
}
