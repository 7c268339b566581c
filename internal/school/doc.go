// Package school knows how a school runs its screening day: the roster of
// students and staff with their badge cards, arrival windows per grade, the
// check rounds (morning, noon, evening), absentees against the roster, the
// daily report (sent also when every count is zero) and calibration
// arithmetic. It works on stored events and does not touch hardware.
package school
