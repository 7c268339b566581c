package drivers

import "reflect"

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
