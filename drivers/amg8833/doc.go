// Package amg8833 reads a Panasonic AMG8833 (Grid-EYE) 8×8 thermal array on
// an I²C bus that the daemon has already opened.
//
// New configures the sensor (normal mode, initial reset, frame rate, the
// optional moving-average mode); ReadFrame then reads the status register,
// the thermistor and the 64 pixels, each as one write-register /
// repeated-start read, and fills a thermal.Frame.
//
// # Datasheet
//
// Panasonic "Infrared Array Sensor Grid-EYE (AMG88)" specifications: 8-bit
// registers, address 0x68 (AD_SELECT low) or 0x69 (high). PCTL 0x00 (0x00
// normal), RST 0x01 (0x3F initial reset), FPSC 0x02 (0 = 10 fps, 1 = 1 fps),
// STAT 0x04 (bit 2 pixel overflow, bit 3 thermistor overflow), SCLR 0x05,
// AVE 0x07 (bit 5 twice moving average, set through the 0x1F unlock
// sequence 0x50, 0x45, 0x57 … 0x00). Thermistor TTHL/TTHH 0x0E–0x0F: 12 bits
// sign-magnitude, 0.0625 °C per LSB. Pixels 0x80–0xFF: 64 little-endian
// words, 12-bit two's complement, 0.25 °C per LSB, row-major.
//
// # Caveats
//
// The AMG8833 is ±2.5 °C typical: a number from it needs a per-device offset
// against a reference (mode "skin" with offset_c in the configuration) and
// stays a first-stage screen that the re-check repeats. Its 7.5° pixels hold
// a face in 8 pixels only within about 0.4 m (drivers/thermal's synthetic
// scenes): farther away a person is asked to come closer. At 10 fps one frame
// is 4 transactions and about 140 bytes: 400 kHz is plenty, 100 kHz works.
package amg8833
