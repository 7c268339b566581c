// Package report makes the district's daily summary (区县汇总表): one row
// per school of what its gates reported for a day, its re-check cases, and
// whether its daily reports came in time (迟报 late, 漏报 missing), as an
// xlsx workbook or a CSV file for reporting upward.
package report
