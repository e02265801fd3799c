package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	in := `goos: linux
pkg: callrec/recorder/mp3
BenchmarkEncode/mono-2   10  190046559 ns/op  1.871 cpu-ms/audio-s  0.9357 x-lame-q7
BenchmarkEncode/stereo-2 10  392711419 ns/op  3.431 cpu-ms/audio-s  1.102 x-lame-q7
PASS
ok  	callrec/recorder/mp3	5.1s
`
	var out strings.Builder
	if err := table(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"callrec/recorder/mp3", "cpu-ms/audio-s", "x-lame-q7", "Encode/stereo-2", "1.102", "0.9357"} {
		if !strings.Contains(got, want) {
			t.Errorf("table output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "goos:") || strings.Contains(got, "PASS") {
		t.Errorf("table output keeps boilerplate:\n%s", got)
	}
	if err := table(strings.NewReader("--- FAIL: BenchmarkX\n"), &out); err == nil {
		t.Error("table on a failed run = nil error, want an error")
	}
}
