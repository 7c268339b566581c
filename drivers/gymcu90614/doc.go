// Package gymcu90614 reads the GY-MCU90614 UART module: an MLX90614 IR
// thermometer behind a small MCU that reports object and ambient temperature
// as 9-byte frames at 9600 or 115200 baud, 8N1.
//
// The driver registers itself as "gymcu90614". It takes an opened serial
// port, switches the module to continuous output (A5 45 EA), or, when the
// device is configured with query: true, asks for one frame (A5 15 BA) at
// rate_hz (default 8 Hz).
//
// # Datasheet
//
// Module to host, 9 bytes:
//
//	5A 5A 45 04 TOh TOl TAh TAl SUM
//
// TO and TA are °C×100, big-endian; SUM is the low byte of the sum of the 8
// bytes before it. Example: 5A 5A 45 04 0C 78 0D 19 A7 is object 31.92 °C,
// ambient 33.53 °C. Host to module commands are A5 cmd (A5+cmd)&FF.
//
// # Caveats
//
// The decoder resynchronises on the 4-byte header 5A 5A 45 04. A header
// found inside garbage yields at most one checksum-failed reading, after
// which the bytes behind the false header are scanned again, so a real frame
// starting inside it is not lost. Newer "TW" firmware sends 10-byte frames:
// the same nine bytes, sum over the first eight, then one more byte whose
// meaning no source documents. It is read like the 9-byte module: the tenth
// byte is skipped before the next header, whatever its value.
package gymcu90614
