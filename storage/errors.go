package storage

import "errors"

// Errors returned by the store.
var (
	// ErrBusy is returned by Append when the writer's queue is full; the
	// caller keeps going and counts the drop.
	ErrBusy = errors.New("storage: writer queue full")
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("storage: store closed")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("storage: file is locked (is another gatescreen running?)")
	// ErrNewerSchema is returned by Open for a file written by a newer binary.
	ErrNewerSchema = errors.New("storage: file has a newer schema")
	// ErrRefused is returned by AppendWait for an event the store did not
	// keep (a normal reading while only urgent events fit, or an event too
	// large for the store); its seq is used up and a gap event records it.
	ErrRefused = errors.New("storage: event refused; a gap event records it")
	// ErrCorruptRecord is returned when a stored event cannot be decoded.
	ErrCorruptRecord = errors.New("storage: corrupt record")
)
