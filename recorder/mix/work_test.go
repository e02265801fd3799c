package mix_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	ct "callrec/recorder/capture/capturetest"
)

// TestPathWork runs the path once on 10 calls of 20 s, for counting its
// instructions under valgrind (PATHWORK=1): a repeatable measure where
// timing on a shared machine is not.
func TestPathWork(t *testing.T) {
	if os.Getenv("PATHWORK") == "" {
		t.Skip("set PATHWORK=1 to run (under valgrind --tool=callgrind)")
	}
	var pcap bytes.Buffer
	ct.WritePcap(&pcap, 1, concurrentCalls(10, 20*time.Second))
	replayAll(t, pcap.Bytes(), false)
}

// TestLameWork writes the same audio as one 200 s stereo file (PATHWORK
// names it), for counting lame's instructions on it under valgrind.
func TestLameWork(t *testing.T) {
	out := os.Getenv("PATHWORK_RAW")
	if out == "" {
		t.Skip("set PATHWORK_RAW=FILE to write the raw audio")
	}
	if err := os.WriteFile(out, speechRaw(200), 0o600); err != nil {
		t.Fatal(err)
	}
}
