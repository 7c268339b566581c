package vmtest

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"go.bug.st/serial"
)

// The machine boots, runs its script with the disk mounted, and its second
// UART carries bytes from the host to the guest; what the script wrote
// and synced is on the disk after a power cut, what it wrote after is not
// required to be.
func TestBootUARTDiskAndCut(t *testing.T) {
	for _, arch := range []*Arch{AMD64, ARM64} {
		t.Run(arch.Debian, func(t *testing.T) { testBootUARTDiskAndCut(t, arch) })
	}
}

func testBootUARTDiskAndCut(t *testing.T, arch *Arch) {
	Require(t, arch)
	disk := NewDisk(t, 32)
	m := Boot(t, Opts{
		Arch: arch,
		Disk: disk,
		Run: `stty -F ` + arch.Gate + ` 115200 raw -echo
echo "uart ready"
read -r line < ` + arch.Gate + `
echo "from host: $line"
echo "$line" > /data/kept && sync
echo "kept synced"
sleep 600`,
	})
	m.WaitConsole("uart ready")
	port, err := serial.Open(m.GatePath, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := port.Write([]byte("hello-vm\r\n")); err != nil {
		t.Fatal(err)
	}
	m.WaitConsole("from host: hello-vm")
	m.WaitConsole("kept synced")
	m.Cut()

	data, err := ReadFile(t, disk, "/kept")
	if err != nil {
		t.Fatalf("the synced file is gone after the cut: %v", err)
	}
	if !bytes.Equal(bytes.TrimSpace(data), []byte("hello-vm")) {
		t.Fatalf("/kept holds %q, want hello-vm", data)
	}
	if _, err := ReadFile(t, disk, "/never-written"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file never written: %v, want os.ErrNotExist", err)
	}
}
