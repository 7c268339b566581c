package modbusir

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/gatescreen/gatescreen/drivers"
)

// Opts configures a Dev. The zero value of every field means its default,
// except Map.SlaveID, which is required.
type Opts struct {
	// Name identifies the device in errors and logs; default "modbusir".
	Name string
	// Map is the device's register map (devices[].modbus).
	Map drivers.ModbusOpts
	// Baud is the speed the port was opened at; it sets the RTU
	// inter-frame gap. Default 9600.
	Baud int
	// RateHz is how often the device is polled; default 2.
	RateHz float64
	// Timeout bounds one request and its reply; default 500ms.
	Timeout time.Duration
	// MaxFailures is how many polls in a row may fail (exception, timeout,
	// garbled frame) before Run gives up and returns an error; default 5.
	MaxFailures int
	// Logger receives failed polls at warn level and the Modbus library's
	// messages at debug level; the zero value logs nothing.
	Logger zerolog.Logger
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Name: "modbusir", Baud: 9600, RateHz: 2, Timeout: 500 * time.Millisecond, MaxFailures: 5}

// defaultScale is the common 0.1 °C per LSB of these transmitters.
const defaultScale = 0.1

// Stats counts the outcome of polls since the Dev was made.
type Stats struct {
	Polls      uint64 // polls that produced a reading
	Exceptions uint64 // Modbus exception replies (e.g. illegal data address)
	Timeouts   uint64 // requests without a reply within Timeout
	BadFrames  uint64 // replies with a bad CRC, short or malformed
	Errors     uint64 // any other failure of the link
}

// Dev polls one Modbus RTU IR transmitter on an opened serial port.
type Dev struct {
	port        drivers.Port
	name        string
	m           drivers.ModbusOpts
	regType     modbus.RegType
	baud        int
	period      time.Duration
	timeout     time.Duration
	maxFailures int
	log         zerolog.Logger

	polls, exceptions, timeouts, badFrames, errs atomic.Uint64
}

// New returns a Dev polling the device on port. It does not touch the port
// until Run.
func New(port drivers.Port, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	if port == nil {
		return nil, fmt.Errorf("modbusir %s: no serial port", o.Name)
	}
	var bad []string
	for _, fe := range validateMap(&o.Map) {
		bad = append(bad, fe.Error())
	}
	if o.Baud < 0 {
		bad = append(bad, fmt.Sprintf("baud %d is negative", o.Baud))
	}
	if !(o.RateHz > 0) || math.IsInf(o.RateHz, 0) {
		bad = append(bad, fmt.Sprintf("rate %v Hz is not a positive rate", o.RateHz))
	}
	if o.Timeout < 0 || o.MaxFailures < 0 {
		bad = append(bad, fmt.Sprintf("timeout %v and max failures %d must not be negative", o.Timeout, o.MaxFailures))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("modbusir %s: %s", o.Name, strings.Join(bad, "; "))
	}
	if o.Map.Scale == 0 {
		o.Map.Scale = defaultScale
	}
	if o.Map.StatusMask == 0 {
		o.Map.StatusMask = 0xFFFF
	}
	regType := modbus.HOLDING_REGISTER
	if o.Map.Input {
		regType = modbus.INPUT_REGISTER
	}
	return &Dev{
		port:        port,
		name:        o.Name,
		m:           o.Map,
		regType:     regType,
		baud:        o.Baud,
		period:      time.Duration(float64(time.Second) / o.RateHz),
		timeout:     o.Timeout,
		maxFailures: o.MaxFailures,
		log:         o.Logger,
	}, nil
}

// String returns the device name.
func (d *Dev) String() string { return d.name }

// Stats returns the poll counters; safe to call while Run runs.
func (d *Dev) Stats() Stats {
	return Stats{
		Polls:      d.polls.Load(),
		Exceptions: d.exceptions.Load(),
		Timeouts:   d.timeouts.Load(),
		BadFrames:  d.badFrames.Load(),
		Errors:     d.errs.Load(),
	}
}

// Timeouts returns the polls left unanswered within Timeout, for the
// daemon's per-device frame counts; safe to call while Run runs.
func (d *Dev) Timeouts() uint64 { return d.timeouts.Load() }

// Run polls the device at the configured rate and emits one reading per
// good poll until ctx is done (nil), the port fails, or MaxFailures polls in
// a row fail (an error naming the last cause).
func (d *Dev) Run(ctx context.Context, emit drivers.Emit) error {
	b, err := d.openBridge()
	if err != nil {
		return err
	}
	defer b.close()
	tick := time.NewTicker(d.period)
	defer tick.Stop()
	failures := 0
	for {
		r, err := d.poll(b.client)
		switch {
		case err == nil:
			failures = 0
			d.polls.Add(1)
			emit(r)
		default:
			failures++
			if d.count(err) == &d.badFrames {
				emit(drivers.Invalid(drivers.FlagChecksum, nil))
			}
			d.log.Warn().Err(err).Str("device", d.name).Int("consecutive", failures).Msg("modbus poll failed")
			if failures >= d.maxFailures {
				return fmt.Errorf("modbusir %s: slave %d: %d polls in a row failed, last: %w", d.name, d.m.SlaveID, failures, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-b.portErr:
			return fmt.Errorf("modbusir %s: serial port: %w", d.name, err)
		case <-tick.C:
			// select picks at random when both are ready: a cancelled
			// Run must not poll once more.
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// count adds a failure to its counter and returns the counter.
func (d *Dev) count(err error) *atomic.Uint64 {
	c := &d.errs
	switch {
	case errors.Is(err, modbus.ErrRequestTimedOut):
		c = &d.timeouts
	case errors.Is(err, modbus.ErrBadCRC), errors.Is(err, modbus.ErrShortFrame),
		errors.Is(err, modbus.ErrProtocolError), errors.Is(err, modbus.ErrBadUnitId):
		c = &d.badFrames
	case isException(err):
		c = &d.exceptions
	}
	c.Add(1)
	return c
}

func isException(err error) bool {
	for _, e := range []error{
		modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
		modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy,
		modbus.ErrMemoryParityError, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// registers is what one poll read, before conversion.
type registers struct {
	object, ambient, status uint16
	hasAmbient, hasStatus   bool
}

// poll reads the status (if any) first, so a fault is seen before the
// value it spoils, then the object and the ambient temperature.
func (d *Dev) poll(c *modbus.ModbusClient) (drivers.Reading, error) {
	var regs registers
	var err error
	if d.m.StatusRegister != nil {
		if regs.status, err = c.ReadRegister(*d.m.StatusRegister, d.regType); err != nil {
			return drivers.Reading{}, fmt.Errorf("status register %d: %w", *d.m.StatusRegister, err)
		}
		regs.hasStatus = true
	}
	if regs.object, err = c.ReadRegister(d.m.Register, d.regType); err != nil {
		return drivers.Reading{}, fmt.Errorf("register %d: %w", d.m.Register, err)
	}
	if d.m.AmbientRegister != nil {
		if regs.ambient, err = c.ReadRegister(*d.m.AmbientRegister, d.regType); err != nil {
			return drivers.Reading{}, fmt.Errorf("ambient register %d: %w", *d.m.AmbientRegister, err)
		}
		regs.hasAmbient = true
	}
	return d.reading(regs), nil
}

// reading converts the registers of one poll.
func (d *Dev) reading(regs registers) drivers.Reading {
	if regs.hasStatus && regs.status&d.m.StatusMask != 0 {
		// Keep status and value big-endian, as on the wire, for diagnosis.
		frame := [4]byte{byte(regs.status >> 8), byte(regs.status), byte(regs.object >> 8), byte(regs.object)}
		return drivers.Invalid(drivers.FlagStatus, frame[:])
	}
	ambient, flags := math.NaN(), drivers.FlagNoAmbient
	if regs.hasAmbient {
		ambient, flags = d.celsius(regs.ambient), 0
	}
	return drivers.NewTemperature(d.celsius(regs.object), ambient, flags)
}

// celsius converts a raw register: two's complement when the map says
// signed, times the scale (°C per LSB).
func (d *Dev) celsius(raw uint16) float64 {
	if d.m.Signed {
		return float64(int16(raw)) * d.m.Scale
	}
	return float64(raw) * d.m.Scale
}

// bridge joins the Modbus client's TCP stream to the serial port.
type bridge struct {
	client  *modbus.ModbusClient
	conn    net.Conn
	port    drivers.Port
	stop    chan struct{}
	wg      sync.WaitGroup
	portErr chan error
}

// portPoll bounds one read of the port, so the copier notices close.
const portPoll = 20 * time.Millisecond

func (d *Dev) openBridge() (*bridge, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("modbusir %s: loopback bridge: %w", d.name, err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close() // one client only
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL:     "rtuovertcp://" + ln.Addr().String(),
		Speed:   uint(d.baud),
		Timeout: d.timeout,
		Logger:  log.New(debugWriter{d.log}, "", 0),
	})
	if err == nil {
		err = client.SetUnitId(d.m.SlaveID)
	}
	if err == nil {
		err = client.Open()
	}
	if err != nil {
		ln.Close()
		if c, ok := <-accepted; ok {
			c.Close()
		}
		return nil, fmt.Errorf("modbusir %s: modbus client: %w", d.name, err)
	}
	conn, ok := <-accepted
	if !ok {
		client.Close()
		return nil, fmt.Errorf("modbusir %s: loopback bridge: no connection", d.name)
	}
	if err := d.port.SetReadTimeout(portPoll); err != nil {
		client.Close()
		conn.Close()
		return nil, fmt.Errorf("modbusir %s: serial port: %w", d.name, err)
	}
	b := &bridge{client: client, conn: conn, port: d.port, stop: make(chan struct{}), portErr: make(chan error, 1)}
	b.wg.Add(2)
	go b.toPort()
	go b.fromPort()
	return b, nil
}

// toPort copies requests from the client to the serial port.
func (b *bridge) toPort() {
	defer b.wg.Done()
	buf := make([]byte, 256)
	for {
		n, err := b.conn.Read(buf)
		if n > 0 {
			if _, werr := b.port.Write(buf[:n]); werr != nil {
				b.fail(werr)
				return
			}
		}
		if err != nil {
			return // the client closed: Run is ending
		}
	}
}

// fromPort copies replies from the serial port to the client.
func (b *bridge) fromPort() {
	defer b.wg.Done()
	buf := make([]byte, 256)
	for {
		select {
		case <-b.stop:
			return
		default:
		}
		n, err := b.port.Read(buf)
		if err != nil {
			b.fail(err)
			return
		}
		if n > 0 {
			if _, err := b.conn.Write(buf[:n]); err != nil {
				return // the client closed: Run is ending
			}
		}
	}
}

func (b *bridge) fail(err error) {
	select {
	case b.portErr <- err:
	default:
	}
	b.conn.Close() // a pending request fails at once instead of timing out
}

// close ends the client and waits for both copiers, so the port is free
// for the daemon when Run returns.
func (b *bridge) close() {
	close(b.stop)
	b.client.Close()
	b.conn.Close()
	b.wg.Wait()
}

// debugWriter turns the Modbus library's log lines into debug events.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("lib", "modbus").Msg(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func init() {
	drivers.Register(drivers.Driver{
		Name:      "modbusir",
		Transport: drivers.Serial,
		// Polled at rate_hz, it reads whoever stands in front of it for as
		// long as they stand there: a stream to segment into one
		// measurement per person, not one reading per person.
		Continuous: true,
		Bauds:      []int{9600, 4800, 19200, 38400, 115200},
		Validate:   validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			if d.Modbus == nil {
				return nil, fmt.Errorf("modbusir %s: no modbus block", d.Name)
			}
			// A nil *Dev in a non-nil Source would look like a device.
			dev, err := New(c.Port, &Opts{Name: d.Name, Map: *d.Modbus, Baud: d.Baud, RateHz: d.RateHz})
			if err != nil {
				return nil, err
			}
			return dev, nil
		},
	})
}

// validate checks the modbus block and the poll rate of a device.
func validate(d drivers.Device) []drivers.FieldError {
	var errs []drivers.FieldError
	if d.Modbus == nil {
		errs = append(errs, drivers.FieldError{Field: "modbus", Value: nil, Msg: "is required (slave_id and register)"})
	} else {
		errs = append(errs, validateMap(d.Modbus)...)
	}
	if d.RateHz < 0 || math.IsNaN(d.RateHz) || math.IsInf(d.RateHz, 0) {
		errs = append(errs, drivers.FieldError{Field: "rate_hz", Value: d.RateHz, Msg: "must be a positive rate (0 means 2 Hz)"})
	}
	return errs
}

func validateMap(m *drivers.ModbusOpts) []drivers.FieldError {
	var errs []drivers.FieldError
	if m.SlaveID < 1 || m.SlaveID > 247 {
		errs = append(errs, drivers.FieldError{Field: "modbus.slave_id", Value: m.SlaveID, Msg: "must be 1–247"})
	}
	if !(m.Scale >= 0 && m.Scale <= 1) {
		errs = append(errs, drivers.FieldError{Field: "modbus.scale", Value: m.Scale, Msg: "is out of range 0–1 °C per count (0 means 0.1)"})
	}
	if m.StatusMask != 0 && m.StatusRegister == nil {
		errs = append(errs, drivers.FieldError{Field: "modbus.status_mask", Value: m.StatusMask, Msg: "needs modbus.status_register"})
	}
	return errs
}

var _ drivers.Source = (*Dev)(nil)
