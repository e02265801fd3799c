// Command benchtable reads `go test -bench` output on stdin and prints each
// package's benchmarks as a table, one column per metric, so that `make
// bench` shows the figures (and the ratios against reference tools) at a
// glance. Lines it does not recognise pass through unchanged.
package main
