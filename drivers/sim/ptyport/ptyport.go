package ptyport

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Pair is one pseudo-terminal: Master is the device's end, Path the name the
// daemon opens.
type Pair struct {
	Master *os.File
	Path   string
	// slave stays open for the pair's life, so the master never sees a
	// hang-up while the daemon closes and reopens the port.
	slave *os.File
}

// Open creates a pair with the slave in raw mode, so no byte written before
// the daemon opens the port is echoed or translated by the line discipline.
func Open() (*Pair, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("ptyport: open: %w", err)
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("ptyport: %s: raw mode: %w", slave.Name(), err)
	}
	pollable, err := nonBlocking(master)
	if err != nil {
		slave.Close()
		return nil, fmt.Errorf("ptyport: %s: %w", slave.Name(), err)
	}
	return &Pair{Master: pollable, Path: slave.Name(), slave: slave}, nil
}

// nonBlocking returns the master as a file in Go's poller, so write and
// read deadlines work and Close interrupts a blocked Read. (creack/pty's
// Fd calls leave the descriptor in blocking mode, where neither works.)
func nonBlocking(master *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(master.Fd()))
	master.Close()
	if err != nil {
		return nil, fmt.Errorf("dup master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("non-blocking master: %w", err)
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

// Close closes both ends; the daemon's reads on the path then fail.
func (p *Pair) Close() error {
	errM := p.Master.Close()
	errS := p.slave.Close()
	if errM != nil {
		return fmt.Errorf("ptyport: close %s: %w", p.Path, errM)
	}
	if errS != nil {
		return fmt.Errorf("ptyport: close %s: %w", p.Path, errS)
	}
	return nil
}

// makeRaw is cfmakeraw(3).
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
