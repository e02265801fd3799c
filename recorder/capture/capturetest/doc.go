// Package capturetest synthesises packets and capture files for tests:
// Ethernet, VLAN, IPv4 and IPv6 (with fragments), UDP and TCP, GRE and
// ERSPAN tunnels, SIP messages and RTP streams with known content. The
// project's own test data is made here rather than copied from elsewhere.
package capturetest
