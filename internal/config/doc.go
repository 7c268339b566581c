// Package config loads, validates and prints gatescreen's YAML configuration.
//
// A file is read on top of Default(), decoded strictly (an unknown key is an
// error, so a typo never silently falls back to a default) and validated as a
// whole. Every problem is reported at once, one per line, in the shape
//
//	configs/gate.yaml:14: devices[1].baud: 9601 is not a supported baud rate
//
// so the school's IT person can fix the whole file in one pass.
//
// Only the composition root (cmd/gatescreen, internal/daemon,
// internal/demo) imports this package; internal/daemon translates the file
// into each component's options. Where a component's option type has the
// file's shape (drivers.Device, pipeline.Relative and Segment, lamps.Pins,
// school.Window and Round) the file decodes into it directly.
//
// Secrets (the MQTT password, the pseudonym key, the doctor's PIN) are never
// written in the configuration: it names files that hold them, and
// ReadSecrets reads those files, refusing any that group or others can read.
// Redacted prints the effective configuration, which therefore never holds a
// secret value.
package config
