package capture_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
)

func TestReaderRoundTrip(t *testing.T) {
	frames := []ct.Frame{
		{Time: t0, Data: ct.UDPFrame(a4, b4, []byte("one"))},
		{Time: t0.Add(1500 * time.Microsecond), Data: ct.UDPFrame(b4, a4, []byte("two"))},
	}
	var buf bytes.Buffer
	if err := ct.WritePcap(&buf, 1, frames); err != nil {
		t.Fatal(err)
	}
	src, err := capture.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range frames {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(data, want.Data) || !ci.Timestamp.Equal(want.Time) {
			t.Errorf("record %d: %d bytes at %v, want %d at %v", i, len(data), ci.Timestamp, len(want.Data), want.Time)
		}
	}
	if _, _, err := src.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last record: %v, want io.EOF", err)
	}
}

func TestReaderErrors(t *testing.T) {
	var buf bytes.Buffer
	ct.WritePcap(&buf, 1, []ct.Frame{{Time: t0, Data: make([]byte, 100)}})
	full := buf.Bytes()
	if _, err := capture.NewReader(strings.NewReader("not a capture at all")); !errors.Is(err, capture.ErrNotCapture) {
		t.Errorf("NewReader(text) = %v, want ErrNotCapture", err)
	}
	src, _ := capture.NewReader(bytes.NewReader(full[:len(full)-10]))
	if _, _, err := src.ReadPacketData(); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated record: %v, want an error saying so", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.pcap")
	os.WriteFile(p, []byte("garbage"), 0o600)
	if _, err := capture.OpenFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("OpenFile(garbage) = %v, want an error naming the file", err)
	}
}

// TestPaced checks paced replay keeps the recorded spacing.
func TestPaced(t *testing.T) {
	var buf bytes.Buffer
	ct.WritePcap(&buf, 1, []ct.Frame{{Time: t0, Data: []byte{1}}, {Time: t0.Add(80 * time.Millisecond), Data: []byte{2}}})
	src, _ := capture.NewReader(&buf)
	p := capture.NewPaced(t.Context().Done(), src)
	start := time.Now()
	p.ReadPacketData()
	p.ReadPacketData()
	if el := time.Since(start); el < 80*time.Millisecond {
		t.Fatalf("two packets 80 ms apart replayed in %v", el)
	}
}
