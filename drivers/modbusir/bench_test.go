package modbusir

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/gatescreen/gatescreen/drivers"
)

// crc16 is the Modbus RTU CRC (poly 0xA001 reflected, init 0xFFFF), sent
// low byte first.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// serveOneRegister answers every 8-byte "read holding registers, quantity 1"
// request on rw with the value 373, until rw fails.
func serveOneRegister(rw io.ReadWriter) {
	req := make([]byte, 8)
	resp := []byte{1, 3, 2, 0x01, 0x75, 0, 0}
	c := crc16(resp[:5])
	resp[5], resp[6] = byte(c), byte(c>>8)
	for {
		if _, err := io.ReadFull(rw, req); err != nil {
			return
		}
		if _, err := rw.Write(resp); err != nil {
			return
		}
	}
}

// pipePort is an in-memory serial port: one end of a net.Pipe, with the
// read timeout of go.bug.st/serial (a timeout is a read of 0 bytes).
type pipePort struct {
	net.Conn
	timeout time.Duration
}

func (p *pipePort) SetReadTimeout(d time.Duration) error { p.timeout = d; return nil }

func (p *pipePort) Read(b []byte) (int, error) {
	p.SetReadDeadline(time.Now().Add(p.timeout))
	n, err := p.Conn.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

// BenchmarkPoll is one poll of one register at 115200 baud. "bridged" is the
// driver: library → loopback TCP → bridge → port. The baseline is the same
// library talking RTU over TCP straight to the slave, without the bridge.
// Both include the library's RTU inter-frame gaps (t3.5 = 1.75 ms), which
// dominate; the difference is the bridge's cost.
func BenchmarkPoll(b *testing.B) {
	b.Run("bridged", func(b *testing.B) {
		ours, slave := net.Pipe()
		defer ours.Close()
		go serveOneRegister(slave)
		d, err := New(&pipePort{Conn: ours}, &Opts{Baud: 115200, Map: drivers.ModbusOpts{SlaveID: 1}})
		if err != nil {
			b.Fatal(err)
		}
		br, err := d.openBridge()
		if err != nil {
			b.Fatal(err)
		}
		defer br.close()
		for b.Loop() {
			r, err := d.poll(br.client)
			if err != nil || !near(r.ObjectC, 37.3) {
				b.Fatalf("poll: %v %v", err, r.ObjectC)
			}
		}
	})
	b.Run("baseline-direct-tcp", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				serveOneRegister(c)
				c.Close()
			}
		}()
		c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "rtuovertcp://" + ln.Addr().String(), Speed: 115200, Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Open(); err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for b.Loop() {
			if v, err := c.ReadRegister(0, modbus.HOLDING_REGISTER); err != nil || v != 373 {
				b.Fatalf("read: %v %v", err, v)
			}
		}
	})
}

var sinkReading drivers.Reading

// BenchmarkConvert is the conversion of one poll's registers to a Reading.
func BenchmarkConvert(b *testing.B) {
	d, err := New(&pipePort{}, &Opts{Map: drivers.ModbusOpts{SlaveID: 1, Signed: true, AmbientRegister: reg(1), StatusRegister: reg(2)}})
	if err != nil {
		b.Fatal(err)
	}
	regs := registers{object: 373, ambient: 251, hasAmbient: true, hasStatus: true}
	b.ReportAllocs()
	for b.Loop() {
		sinkReading = d.reading(regs)
	}
}
