// Package archtest keeps the layering of docs/ARCHITECTURE.md true: its test
// lists every package of the module with `go list`, reads the imports of
// each file (every build tag, tests included) and fails on an import the
// table in arch_test.go does not allow, naming the edge and the file.
//
// The package has no code outside its tests; `go test ./...` runs it.
package archtest
