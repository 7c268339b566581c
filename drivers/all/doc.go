// Package all links every device driver into the binary: each imported
// package registers itself with the drivers registry from init.
package all
