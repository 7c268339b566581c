// Package screen is the local web screen at the gate and the school doctor's
// input: every lane's live state in large type (colour and text and icon,
// for colour-blind staff), the last readings, the queue of open re-check
// cases with their tickets, the doctor's form, device health, banners and
// today's tallies. It also serves /healthz; /metrics is not the screen's
// (the daemon serves it on metrics.listen, apart from the LAN).
//
// The daemon pushes data in (Consume, CaseChanged, Health, SetUplink,
// SetBanner, SetAbsentees, SetDaily); every push is non-blocking: browsers
// get the change over server-sent events, each client through its own
// bounded buffer, so a slow or dead browser never delays a measurement. A
// client that falls behind loses messages (counted by Dropped) and is sent a
// full snapshot instead.
//
// # Failing safe
//
// The screen must never look fine when it is not. Every event stream
// carries a heartbeat (an "hb" event every 0.75 s with the server's clock
// and the school's UTC offset); the page shows every lane as stopped
// (停止测温 — 请人工测温), and upload and devices as unknown, once it has
// heard nothing for 2 s or the stream fails, reopens the stream itself and
// recovers with the next snapshot. A lane whose device (pipeline.Lane.Device)
// is down or degraded shows the fault, never a pass. A pass, retake or
// invalid reading is shown for Opts.IdleAfter (3 s, as the lamp). A flag
// with a case stays red over the next people's readings until the doctor
// has the person at the desk (Opts.FlagHold).
//
// # School operations
//
// With Opts.Driller the doctor's panel starts an emergency drill (应急演练)
// on a chosen lane (not a re-check lane). Drill readings, their lane, ticket
// and queue entry are marked 演练/DRILL; the screen learns that a case is a
// drill from its flagged measurement or from the case (event.Case.Drill,
// which the daemon's cases also set for a drill case restored after a
// restart). With Opts.Visitors the panel registers visitors (来访登记) on
// the newest reading of a lane of role visitor taken within
// Opts.VisitorWindow: a reading that is not a pass, a drill reading or one
// that already admitted a visitor is refused. The
// absentees panel (因病缺勤追踪) and the daily report panel (日报, a zero
// report marked 零报告) show what the daemon pushes. Calibration warnings
// have the banner keys banner_calibration_overdue (校准已过期) and
// banner_calibration_spread (校准离散度过大); Health picks them by reason.
//
// Everything is embedded (go:embed): the box has no internet. The page is
// zh-CN by default and English with Opts.Lang "en" or its toggle.
//
// # Security
//
// The doctor's actions need the PIN (compared in constant time), which opens
// a server-side session held in an HttpOnly, SameSite=Strict cookie; every
// state-changing request also carries the session's CSRF token. After
// Opts.MaxAttempts wrong PINs from one client (IP address) that client's
// logins are refused for Opts.Lockout, twice as long at each further lock
// (at most 24 h); other clients, the doctor at the desk among them, are not
// affected. The price: someone holding many addresses of the LAN gets
// MaxAttempts guesses per address, so the PIN should be longer than four
// digits. Without a PIN (or without a Desk) the form is disabled, never
// open. Cross-origin posts are refused (net/http CrossOriginProtection) and
// request bodies must be JSON. A request whose Host header is not an IP
// literal, localhost or one of Opts.Hosts is refused (421), against DNS
// rebinding. One address holds at most Opts.MaxClientsPerHost event
// streams, so idle connections from one machine cannot take every screen
// slot (Opts.MaxClients).
//
// # Privacy
//
// Nothing the public API sends (/api/state, /events, /api/cases) names a
// person: lanes carry temperatures and verdicts, never the roster id.
// The queue shows what the gate needs: ticket, lane, flagged temperature,
// waiting time and state. The re-check result, contact history,
// disposition, outcome and person of a case are only sent to the doctor's
// session. Likewise visitors' and absentees' names: the public state carries
// today's visitor count and absentee counts per class; the names come from
// GET /api/visitors and /api/absentees, which need a logged-in session.
// Visitors are kept in the store's visitor book, never uploaded.
package screen
