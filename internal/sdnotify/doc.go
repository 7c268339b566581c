// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): READY=1
// once the daemon serves, STOPPING=1 on shutdown, and WATCHDOG=1 pings at
// half the interval systemd asks for, so a hung daemon is restarted. Outside
// systemd ($NOTIFY_SOCKET unset) every call is a no-op.
package sdnotify
