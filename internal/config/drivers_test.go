package config_test

import (
	"errors"

	"github.com/gatescreen/gatescreen/drivers"
	_ "github.com/gatescreen/gatescreen/drivers/all"
)

// Until every driver package has landed in drivers/all, stand-ins with the
// real names let the example configuration validate. They register only
// when the real driver is absent, so no duplicate-registration panic follows
// once it is linked.
func init() {
	for _, d := range []drivers.Driver{
		{Name: "gymcu90614", Transport: drivers.Serial, Continuous: true, Bauds: []int{9600, 115200}},
		{Name: "mlx90614", Transport: drivers.I2C, Continuous: true},
		{Name: "modbusir", Transport: drivers.Serial, Bauds: []int{9600, 19200, 4800}},
		{Name: "lineproto", Transport: drivers.Serial, Bauds: []int{9600, 19200, 38400, 57600, 115200, 4800, 2400}},
		{Name: "badge", Transport: drivers.Serial, Bauds: []int{9600}},
	} {
		if _, ok := drivers.Lookup(d.Name); !ok {
			d.New = unusable
			drivers.Register(d)
		}
	}
	// A test-only driver with its own Validate, to check how the driver's
	// field errors are placed in the file.
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
