package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedCurrent checks the committed dct32_gen.go is what the
// generator writes today.
func TestGeneratedCurrent(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../dct32_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("dct32_gen.go is stale: run go generate ./recorder/mp3")
	}
}
