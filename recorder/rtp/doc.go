// Package rtp rebuilds one direction of a call's audio from its RTP
// packets (RFC 3550) onto the recording's timeline at 16 kHz: it places
// each packet by its timestamp, anchored to capture time, so that loss,
// reordering, duplicates, SSRC changes, timestamp jumps, silence
// suppression and hold all keep the recording on time, and it corrects
// the drift of a sender's clock so both directions stay aligned.
package rtp
