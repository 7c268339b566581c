// Package alert raises the district's alerts that depend on the clock and
// delivers every alert by webhook.
//
// Two rules run on a timer: a gate with no daily report of the day at the
// district's deadline (daily_missing, one per gate and day) and a box
// offline for longer than OfflineAfter inside school hours (box_offline,
// one per box and offline spell). The alerts for cases (a fever confirmed
// on re-check, a referral to the CDC) are raised by the store in the
// transaction that stores the case event, so they exist the moment the
// ingester commits; this package only sends them.
//
// Delivery is a JSON POST per alert, retried with a doubling backoff; the
// state of each (attempts, next attempt, delivered at) lives in the alerts
// table, so a restarted service resends what was never delivered and
// nothing that was. It runs apart from ingest: a receiver that is down or
// slow delays nothing but its own alerts.
package alert
