package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedTablesCurrent regenerates the tables from the go-mp3 decoder
// in the module cache and compares them with the committed file, so the
// encoder's tables always agree with the decoder's.
func TestGeneratedTablesCurrent(t *testing.T) {
	dir, err := moduleDir(goMP3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../tables_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("tables_gen.go is stale: run go generate ./recorder/mp3")
	}
}

func TestWalkRejectsBrokenTree(t *testing.T) {
	// A node pointing past the end of its tree.
	if _, err := walk([]uint64{0x0901}, 1); err == nil {
		t.Fatal("walk of a broken tree = nil error, want one")
	}
}
