// Package pipeline joins the recorder's stages into one path: packets from
// a capture.Source are decoded, tracked into calls, and (with a Sink)
// mixed into stereo MP3 recordings. The daemon, ingest, extract, inspect
// and the path benchmark all record through it, so a capture file is
// replayed exactly as the box taps a wire.
package pipeline
