// Package capture turns what a SPAN port mirrors into transport payloads:
// it reads packets live (AF_PACKET) or from pcap and pcapng files, strips
// link layers, VLAN tags and tunnels (GRE, ERSPAN II/III, IP-in-IP),
// reassembles IPv4 and IPv6 fragments and TCP streams, and hands each UDP
// datagram, SIP-over-TCP message or SCTP data chunk to the caller with its
// addresses. Decoding allocates nothing per packet in the steady state.
package capture
