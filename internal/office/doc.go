// Package office writes the school office's paperwork from the stored
// events: the ledger (台账) as registers — the morning/noon/evening check
// register (晨午检登记表), the re-check cases with their dispositions, the
// absences against the roster and a summary per day — as CSV or .xlsx, and
// the daily report a principal signs as text, HTML (one A4 page) or .xlsx.
//
// Everything here is made on the box for the school, so it may carry the
// roster's names (Identity "name"); what is uploaded never comes from here.
// Values are written in the office's language: Chinese in zh-CN, the
// stored codes in en.
package office
