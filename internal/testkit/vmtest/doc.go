// Package vmtest boots a Linux virtual machine under QEMU for the tests
// that a process on the host cannot fake: a power cut, which takes the
// machine's memory, page cache and disk queue with it (a SIGKILL of the
// daemon keeps the page cache); a UART driven by a real kernel driver; and
// a block device with a journaling filesystem.
//
// The machine is Debian's own kernel (linux-image-amd64) with an initramfs
// written here: busybox-static, the virtio and ext4 modules from the
// kernel's package, and the files and script of the test. Its disk is a raw
// image with ext4 (e2fsprogs), read back on the host the way the next boot
// would see it. KVM is used when it works; otherwise QEMU emulates the CPU
// (a boot then takes about 7 s on an idle 2-core host).
//
// Only tests import this package.
package vmtest
