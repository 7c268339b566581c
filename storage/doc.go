// Package storage is the durable event store of the box: every event the
// daemon produces (readings, case transitions, health, gaps, daily reports,
// calibrations) is appended here before anyone is told it is stored, and the
// uplink drains it from here to the district.
//
// # Model
//
// One bbolt file, one writer goroutine. Append hands an event to the writer
// without blocking; the writer assigns the next persisted sequence number and
// commits events in groups (group commit): normal readings within
// Opts.CommitInterval or Opts.CommitEvents, urgent events at once. Nothing is
// reported durable (AppendWait, Durable, Notify) before its transaction was
// committed, which in bbolt means written and fdatasync'ed.
//
// Buckets:
//
//	events           seq (uint64 big-endian) → encoded event (see codec.go)
//	outbox/priority  seq → {} for un-acknowledged urgent events
//	outbox/bulk      seq → {} for un-acknowledged normal readings
//	acked            seq → store-clock time of the Ack (unix ns), for retention
//	cases            "<day>/<ticket>" → latest event of that case
//	daily            "<day>" → latest daily report event
//	calibration      "<device>" → latest calibration event
//	meta             schema version, box id, last seq, "kv/<key>" for others
//
// A case event is stored with the seq of the flagged reading that opened it
// (event.Case.ReadingSeq), which only the writer knows. The pipeline appends
// the two from different sinks, in no fixed order, so the writer holds a
// case's opening transition (and any later one of the same case) until its
// reading is appended, at most Opts.ReadingWait; see link.go. A case keeps
// its drill mark: a transition of a drill's case is stored as a drill event.
//
// Sequences come from the events bucket's persisted sequence and are never
// reused: a small side file "<name>.seq" reserves blocks of sequence numbers,
// so even a store that had to be quarantined continues above every sequence
// the old file could have handed out.
//
// # Size, retention, compaction
//
// Before each commit the writer compares the pages in use with its limit:
// Opts.MaxSize, or what the filesystem can still give when that is less (the
// bytes the file holds plus the free ones, by statfs, less a margin). 1 MiB
// is held in a file of its own, "<name>.reserve" (fallocate), so that
// acknowledgements, purges and their gap events can always commit even when
// another program fills the disk: in bbolt even a delete writes new pages. A
// transaction that meets ENOSPC releases the reserve and goes through; it is
// taken again at the next maintenance once the filesystem has room. Over the soft limit (7/8 of it) it
// frees space, in order: acked events past Retention, acked events oldest
// first, events whose acknowledgement waits for this commit (uploaded, so no
// gap), then the oldest un-acked normal readings, for which it appends an
// urgent Gap event (reason "max_size" or "disk_full"). Urgent events (cases,
// health, gaps, daily, calibration, flagged readings) are never purged before
// they are acknowledged; when nothing else is left, new normal readings are
// refused instead, their seqs recorded by a "store_full" gap, and urgent
// events still go in. bbolt's Options.MaxSize is the hard guard. A commit that
// fails all the same (a disk that filled up between two checks, an I/O error)
// keeps its batch and is tried again with backoff; nothing is dropped. Because a
// bbolt file never shrinks, the writer compacts it into a new file and renames
// it over the old one when more than half of a large file is free.
//
// Retention counts from the moment the store acknowledged an event by its own
// clock (Opts.Now), not from the event's wall time, which may be 1970 on a box
// without a real-time clock. Ack times are kept from going backwards (an ack
// never gets a time before the latest one recorded, also across restarts), so
// a box that boots at 1970 and syncs later neither purges early nor keeps
// uploaded data forever.
//
// # Start-up
//
// Open takes bbolt's file lock (a second daemon gets ErrLocked), runs the
// checks of bbolt's tx.Check, and moves a corrupt file aside as "<name>.corrupt-<UTC time>"
// before starting a fresh one, so a damaged SD card never causes a crash loop.
// The check runs in a child process (the running binary, found by
// os.Executable, re-executed with GATESCREEN_STORAGE_CHECK set, handled by
// this package's init), because bbolt meets some garbled pages with panics in
// goroutines of its own that no recover can catch; the child is killed after
// Opts.CheckTimeout, by default 20 s plus 1 s per MiB of the file. The daemon's process never opens a file no check has
// passed: a check that times out or cannot be started ends like a failed one.
// After a file is set aside, a second child (GATESCREEN_STORAGE_SALVAGE)
// streams what it can still read of it — the events left in the outbox, with
// their seqs, the case, daily and calibration projections, other components'
// meta values — into the fresh file, and the quarantine and the salvage are
// stored as health events. A file written by a newer schema is refused, never
// touched; older ones go through the upgrade hooks.
//
// Start does all of this in the background: the store takes Appends at once
// (up to Opts.QueueLen, in memory) and stores them in order once the file is
// open, and its reads wait for the open; Wait reports how it ended. The
// daemon uses it so that its lamps do not wait for the check of a full file
// (seconds on a cold card). The check child reads the file with pread, a
// page at a time, and never maps it: mapped page cache counts in a
// process's RSS, and a full file's pages did (see filecheck.go). It then
// writes the free-page list, which the daemon's commits leave out, so that
// bbolt's open in the daemon does not walk the file; the daemon's count of
// the outbox releases the pages it maps as it goes (countKeys).
//
// # Caveats
//
// A power cut loses at most the normal readings of the last CommitInterval
// (never an urgent event that was reported durable). SD cards that
// acknowledge a flush before the data is safe defeat any fsync-based design;
// the quarantine is the fallback. Ack is durable too, but losing one only
// means the district receives the event again (it drops duplicates by id).
package storage
