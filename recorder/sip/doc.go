// Package sip parses what a passive tap sees of SIP (RFC 3261) and SDP
// (RFC 8866): leniently, because a recorder must not lose a call to a
// missing CR, a folded header or a compact form. It also turns the numbers
// in SIP headers into E.164 form for indexing and for deciding a call's
// direction.
package sip
