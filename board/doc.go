// Package board holds the pin maps of the boards callrec runs on and the
// constructors that turn a pin map into hal parts. Boards are data, listed
// in the explicit ByName map; only cmd/recorderd imports this package.
package board
