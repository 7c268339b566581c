package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// procDevicesFiles are real kernels' /proc/devices: the amd64 one from
// scripts/sandbox-test.sh's machine, the arm64 one from vmtest's (its
// PL011 is the Pi's ttyAMA, which no x86 machine has).
var procDevicesFiles = []string{"testdata/proc-devices-amd64.txt", "testdata/proc-devices-arm64.txt"}

// charDrivers returns the character device driver names of /proc/devices
// files, as systemd's DeviceAllow=char-NAME matches them.
func charDrivers(t *testing.T, files ...string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		inChar := false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case strings.HasPrefix(line, "#") || line == "":
			case line == "Character devices:":
				inChar = true
			case strings.HasSuffix(line, "devices:"):
				inChar = false
			case inChar:
				if _, name, ok := strings.Cut(line, " "); ok {
					names[strings.TrimSpace(name)] = true
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no character devices in %v", files)
	}
	return names
}

// unitDeviceClasses returns the NAMEs of the unit's DeviceAllow=char-NAME lines.
func unitDeviceClasses(t *testing.T, unit string) []string {
	t.Helper()
	data, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	var classes []string
	for _, line := range strings.Split(string(data), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "DeviceAllow=")
		if !ok {
			continue
		}
		spec, _, _ := strings.Cut(v, " ")
		if name, ok := strings.CutPrefix(spec, "char-"); ok {
			classes = append(classes, name)
		}
	}
	return classes
}

// A DeviceAllow=char-NAME line allows the majors whose driver is called NAME
// in /proc/devices; a misspelt one (char-ttyAMA0, char-i2c-dev) allows
// nothing, silently. Every line must name a driver of a real kernel.
func TestUnitDeviceAllowNamesRealDrivers(t *testing.T) {
	drivers := charDrivers(t, procDevicesFiles...)
	classes := unitDeviceClasses(t, "../../scripts/gatescreen.service")
	if len(classes) == 0 {
		t.Fatal("scripts/gatescreen.service has no DeviceAllow=char-… line")
	}
	for _, c := range classes {
		if !drivers[c] {
			t.Errorf("DeviceAllow=char-%s: no character device driver %q in %v", c, c, procDevicesFiles)
		}
	}
}

// devNode matches a device path the configuration documents, e.g.
// /dev/ttyUSB0 or /dev/i2c-1: its prefix is the node name without the
// number. /dev/serial/by-id/… links to a ttyUSB or ttyACM node.
var devNode = regexp.MustCompile(`/dev/([A-Za-z][A-Za-z0-9]*?-?)[0-9]+\b`)

// nodeDriver maps a node prefix to the driver name /proc/devices gives it.
var nodeDriver = map[string]string{"i2c-": "i2c"}

// Every kind of port the configuration's documentation names (its example,
// the minimal configuration, the validator's hints) and the GPIO chips the
// outputs drive is reachable through one of the unit's DeviceAllow= lines.
func TestUnitDeviceAllowCoversDocumentedPorts(t *testing.T) {
	classes := unitDeviceClasses(t, "../../scripts/gatescreen.service")
	docs, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, err := filepath.Glob("../../internal/config/*.go")
	if err != nil {
		t.Fatal(err)
	}
	need := map[string][]string{"gpiochip": {"outputs (periph's gpioioctl driver)"}}
	for _, path := range append(docs, code...) {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range devNode.FindAllStringSubmatch(string(data), -1) {
			drv := m[1]
			if d, ok := nodeDriver[drv]; ok {
				drv = d
			}
			need[drv] = append(need[drv], filepath.Base(path)+": "+m[0])
		}
	}
	for _, want := range []string{"ttyUSB", "ttyAMA", "i2c"} {
		if need[want] == nil {
			t.Fatalf("the configuration's documentation names no %s port: the scan of configs/ and internal/config is broken", want)
		}
	}
	for drv, where := range need {
		if !slices.Contains(classes, drv) {
			t.Errorf("no DeviceAllow=char-%s rw in scripts/gatescreen.service for %v", drv, where)
		}
	}
}
