// Package recorder is the media side of callrec: it sees packets on the
// SPAN tap, follows SIP and SDP, decodes RTP and encodes each call to MP3.
// Its subpackages are capture, sip, rtp, codec, mix and mp3; it imports no
// other layer of ours, and declares the interfaces it needs (such as a
// recording Sink) for cmd/recorderd to satisfy from storage.
package recorder
