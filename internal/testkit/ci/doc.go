// Package ci holds the project's rule for tests whose dependency (a program
// or a Python module from Debian) is missing: CI installs every one of
// them, so there such a test fails; elsewhere it skips and says what to
// install.
package ci
