// Package haltest holds hand-written fakes of the hal interfaces, for tests
// and for the simulated board. Each records what was done to it.
package haltest
