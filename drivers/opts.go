package drivers

import (
	"fmt"
	"reflect"

	"periph.io/x/conn/v3/i2c"
)

// WithDefaults returns a copy of *opts (the zero value when opts is nil) in
// which every zero field holds the field of defaults: the periph rule that
// the zero value of an option means its documented default, written once
// for every driver's Opts. Fields are compared as values, so a float -0 is
// zero as with ==, and a zerolog.Logger left zero stays the silent one
// defaults hold. T must be a struct with exported fields only.
func WithDefaults[T any](opts *T, defaults T) T {
	var o T
	if opts != nil {
		o = *opts
	}
	v, d := reflect.ValueOf(&o).Elem(), reflect.ValueOf(defaults)
	for i := range v.NumField() {
		if f := v.Field(i); isZero(f) {
			f.Set(d.Field(i))
		}
	}
	return o
}

func isZero(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	}
	return v.IsZero()
}

// I2CName returns the name of an I²C device for its errors and logs: name,
// or "<driver>@<addr>" when name is empty. It is an error naming the device
// when bus is nil: a driver takes an opened bus and never opens one.
func I2CName(driver, name string, addr uint16, bus i2c.Bus) (string, error) {
	if name == "" {
		name = fmt.Sprintf("%s@%#x", driver, addr)
	}
	if bus == nil {
		return name, fmt.Errorf("%s %s: no I²C bus", driver, name)
	}
	return name, nil
}
