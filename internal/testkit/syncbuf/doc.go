// Package syncbuf is a byte buffer safe for concurrent use: the sink tests
// give a logger or a child process whose goroutines write while the test
// reads what was written so far.
package syncbuf
