// Command gatescreen is the temperature-screening daemon of a school gate and
// its companion commands. See README.md and `gatescreen help`.
package main
