// Package pgtest runs a real PostgreSQL server for the district's tests and
// benchmarks: Debian's postgresql package, initdb into a temporary folder,
// a free loopback port, no system service. As root it runs the server as
// the user postgres (which the package creates) or nobody, since initdb
// refuses root. It is imported by tests only.
package pgtest
