// Package recordingtest records calls into a real archive for tests: the
// frames of a tap (as capturetest makes them) go through Ingest, as the
// box records a live one.
package recordingtest

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"callrec/firmware/recording"
	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/mix"
	"callrec/storage/archive"
)

// Record plays frames into a through Ingest and returns the finished
// recordings; it fails the test if the tap does not read, or if Ingest's
// count of stored recordings disagrees with those that finished.
func Record(t testing.TB, a *archive.Archive, frames []ct.Frame) []mix.Info {
	t.Helper()
	var pcap bytes.Buffer
	if err := ct.WritePcap(&pcap, 1, frames); err != nil {
		t.Fatal(err)
	}
	src, err := capture.NewReader(&pcap)
	if err != nil {
		t.Fatal(err)
	}
	var infos []mix.Info
	res, err := recording.Ingest(context.Background(), a, src, recording.Config{OnFinish: func(i mix.Info) { infos = append(infos, i) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stored := len(slices.DeleteFunc(slices.Clone(infos), func(i mix.Info) bool { return i.Err != nil })); res.Stored != stored {
		t.Errorf("Ingest says %d stored; %d recordings finished without error", res.Stored, stored)
	}
	return infos
}
