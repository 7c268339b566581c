package sim

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// Where a person stands in front of a thermal array, and where they come
// from: close enough for the face to cover well over 8 pixels.
const (
	amgStandM   = 0.3
	mlxStandM   = 0.8
	arrivalFarM = 2.5
	sensorNoise = 0.1 // °C, Gaussian, per pixel and frame
)

// ArrayBus is an I²C bus with one simulated thermal array on it, an AMG8833
// or an MLX90640, answering the register reads and writes of the real
// drivers (drivers/amg8833, drivers/mlx90640). Its frames render the person
// of a running Gate walking up to the sensor, standing, and stepping out of
// view sideways (RenderView). The MLX90640 carries a calibration with every
// coefficient zero but the sensitivity, so its raw words invert exactly.
type ArrayBus struct {
	name     string
	protocol string
	addr     uint16
	w, h     int
	fovX     float64
	fovY     float64
	standM   float64

	mu       sync.Mutex
	ambientC float64
	person   Person
	arrival  time.Time
	i2cPlug
	noise *rand.Rand
	pix   []float64
	reads int
	// MLX90640 registers: control, and when the next subpage is ready.
	ctrl    uint16
	next    uint16
	readyAt time.Time
}

// NewArrayBus returns a bus named name with a thermal array speaking
// protocol (ProtocolAMG8833 or ProtocolMLX90640) at the 7-bit address addr
// (0 means the sensor's default), looking at an empty lane at ambientC.
func NewArrayBus(name, protocol string, addr uint16, ambientC float64, noise *rand.Rand) *ArrayBus {
	b := &ArrayBus{name: name, protocol: protocol, ambientC: ambientC, noise: noise, ctrl: 0x1901}
	if protocol == ProtocolAMG8833 {
		b.addr, b.w, b.h, b.standM = orDefault(addr, 0x69), 8, 8, amgStandM
		b.fovX, b.fovY = 60*math.Pi/180, 60*math.Pi/180
	} else {
		b.addr, b.w, b.h, b.standM = orDefault(addr, 0x33), 32, 24, mlxStandM
		b.fovX, b.fovY = 55*math.Pi/180, 35*math.Pi/180
	}
	b.pix = make([]float64, b.w*b.h)
	return b
}

// present walks p up to the sensor from arrival on.
func (b *ArrayBus) present(p Person, arrival time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.person, b.arrival = p, arrival
}

// Reads counts the pixel reads, for tests.
func (b *ArrayBus) Reads() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads
}

// render draws the lane at now into b.pix.
func (b *ArrayBus) render(now time.Time) {
	var people []ViewPerson
	if !b.arrival.IsZero() {
		since, stand := now.Sub(b.arrival), approachTime+b.person.Dwell
		p := ViewPerson{D: b.standM, HotC: b.person.SkinC}
		switch {
		case since < 0 || since >= stand+leaveTime:
			p.D = 0
		case since < approachTime:
			p.D = lerp(arrivalFarM, b.standM, float64(since)/float64(approachTime))
		case since >= stand:
			p.X = lerp(0, b.standM, float64(since-stand)/float64(leaveTime))
		}
		if p.D > 0 {
			people = append(people, p)
		}
	}
	RenderView(b.pix, b.w, b.h, b.fovX, b.fovY, b.ambientC+idleAboveAmbientC, people)
	for i := range b.pix {
		b.pix[i] += b.noise.NormFloat64() * sensorNoise
	}
	b.reads++
}

// Tx answers one transaction of the real driver.
func (b *ArrayBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.connected() || addr != b.addr || len(w) == 0 {
		return ErrNACK
	}
	if b.protocol == ProtocolAMG8833 {
		return b.amgTx(w, r)
	}
	return b.mlxTx(w, r)
}

// amgTx: register writes are accepted; reads of the status (no overflow),
// the thermistor and the pixels are answered.
func (b *ArrayBus) amgTx(w, r []byte) error {
	switch {
	case len(w) == 2 && len(r) == 0:
		return nil
	case len(w) != 1:
		return ErrNACK
	}
	switch {
	case w[0] == 0x04 && len(r) == 1:
		r[0] = 0
	case w[0] == 0x0E && len(r) == 2:
		v := uint16(math.Round(math.Abs(b.ambientC) / 0.0625))
		if b.ambientC < 0 {
			v |= 0x800
		}
		binary.LittleEndian.PutUint16(r, v)
	case w[0] == 0x80 && len(r) == 128:
		b.render(time.Now())
		for i, c := range b.pix {
			binary.LittleEndian.PutUint16(r[2*i:], uint16(int16(math.Round(c/0.25)))&0xFFF)
		}
	default:
		return ErrNACK
	}
	return nil
}

// The MLX90640's simulated calibration: sensitivity α = mlxAlphaRef/2^30,
// every other coefficient zero, so To = ⁴√(raw/α + Ta⁴) at emissivity 1.
const (
	mlxAlphaRef = 1074 // α ≈ 1.0e-6: 0.01 K per LSB near skin
	mlxGain     = 6000
	mlxVdd25    = -12544 // with kVdd −3200: 3.3 V
	mlxVbe      = 19000
	mlxVPTAT25  = 12196
	mlxKtPTAT   = 42.625
)

// mlxEEPROM is the calibration New reads from 0x2400.
var mlxEEPROM = func() (ee [832]uint16) {
	ee[0x10] = 0x4000 // αPTAT 9, offset scales 1
	ee[0x20] = 0x0000 // α scales: 2^30
	ee[0x21] = mlxAlphaRef
	ee[0x30] = mlxGain
	ee[0x31] = mlxVPTAT25
	ee[0x32] = uint16(mlxKtPTAT * 8) // KvPTAT 0
	ee[0x33] = 0x9C78                // kVdd −3200, Vdd25 −12544
	ee[0x38] = 0x2000                // ADC resolution 18 bits
	ee[0x3F] = 0x2AF0                // CT3 300, CT4 500 °C; KsTo 0
	for i := 0x40; i < len(ee); i++ {
		ee[i] = 0x0001 // a calibrated pixel with zero offset, Kta, Kv
	}
	return ee
}()

func (b *ArrayBus) mlxTx(w, r []byte) error {
	if len(w) < 2 {
		return ErrNACK
	}
	reg := binary.BigEndian.Uint16(w)
	now := time.Now()
	switch {
	case len(w) == 4 && reg == 0x800D:
		b.ctrl = binary.BigEndian.Uint16(w[2:])
	case len(w) == 4 && reg == 0x8000:
		// The host took the subpage: the next one comes a period later.
		b.next ^= 1
		b.readyAt = now.Add(time.Duration(float64(time.Second) / mlxRates[(b.ctrl>>7)&7]))
	case len(w) != 2:
		return ErrNACK
	case reg == 0x800D && len(r) == 2:
		binary.BigEndian.PutUint16(r, b.ctrl)
	case reg == 0x8000 && len(r) == 2:
		st := b.next
		if !now.Before(b.readyAt) {
			st |= 0x0008
		}
		binary.BigEndian.PutUint16(r, st)
	case reg == 0x2400 && len(r) == 2*len(mlxEEPROM):
		for i, v := range mlxEEPROM {
			binary.BigEndian.PutUint16(r[2*i:], v)
		}
	case reg == 0x0400 && len(r) == 2*832:
		b.mlxRAM(now, r)
	default:
		return ErrNACK
	}
	return nil
}

var mlxRates = [...]float64{0.5, 1, 2, 4, 8, 16, 32, 64}

// mlxRAM encodes the frame at now: raw pixel words from the inverted
// calibration and the auxiliary words for Ta = the ambient and Vdd = 3.3 V.
func (b *ArrayBus) mlxRAM(now time.Time, r []byte) {
	b.render(now)
	ta4 := math.Pow(b.ambientC+273.15, 4)
	alpha := float64(mlxAlphaRef) / (1 << 30)
	put := func(i int, v float64) {
		binary.BigEndian.PutUint16(r[2*i:], uint16(int16(math.Max(-32768, math.Min(32767, math.Round(v))))))
	}
	for i, c := range b.pix {
		put(i, alpha*(math.Pow(c+273.15, 4)-ta4))
	}
	for i := len(b.pix); i < 832; i++ {
		put(i, 0)
	}
	// Ta: PTAT·2^18/(αPTAT·PTAT + Vbe) = VPTAT25 + KtPTAT·(Ta − 25).
	art := mlxVPTAT25 + mlxKtPTAT*(b.ambientC-25)
	put(0x0700-0x0400, mlxVbe)
	put(0x0720-0x0400, art*mlxVbe/(1<<18-9*art))
	put(0x070A-0x0400, mlxGain)
	put(0x072A-0x0400, mlxVdd25)
}

// SetSpeed accepts any clock: the simulated sensor is never too slow.
func (b *ArrayBus) SetSpeed(physic.Frequency) error { return nil }

// String returns the bus name.
func (b *ArrayBus) String() string { return b.name }

// Close is a no-op: the Gate unregisters the bus.
func (b *ArrayBus) Close() error { return nil }

var _ i2c.BusCloser = (*ArrayBus)(nil)
