package tests

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "callrec"

// allowed reports whether package pkg (of this module) may import imp (also
// of this module), following ../shared/STYLE.md §1: cmd wires everything;
// firmware uses recorder, storage and hal; board builds hal parts; recorder
// and storage stand alone; hal imports nothing of ours; nobody imports cmd.
// Within storage, the vault and retention are the archive's: every other
// layer reaches recordings through storage/archive (the index, for its
// record types and queries, too).
func allowed(pkg, imp string) bool {
	layer := func(p string) string {
		p = strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
		top, _, _ := strings.Cut(p, "/")
		return top
	}
	from, to := layer(pkg), layer(imp)
	if to == "cmd" || to == "tests" {
		return false
	}
	if (imp == module+"/storage/vault" || imp == module+"/storage/retention") && from != "storage" && from != "tests" {
		return false
	}
	if from == to {
		return true
	}
	switch from {
	case "cmd", "tests":
		return true
	case "firmware":
		return to == "recorder" || to == "storage" || to == "hal"
	case "board":
		return to == "hal"
	}
	return false // recorder, storage, hal: nothing of another layer
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		pkg, imp string
		want     bool
	}{
		{"callrec/cmd/recorderd", "callrec/board", true},
		{"callrec/recorder/mp3", "callrec/recorder/codec", true},
		{"callrec/recorder/mp3", "callrec/storage/vault", false},
		{"callrec/storage/vault", "callrec/recorder/mp3", false},
		{"callrec/recorder/sip", "callrec/board", false},
		{"callrec/firmware/web", "callrec/storage/index", true},
		{"callrec/firmware/panel", "callrec/board", false},
		{"callrec/firmware/panel", "callrec/hal", true},
		{"callrec/board", "callrec/hal", true},
		{"callrec/board/sim", "callrec/hal/haltest", true},
		{"callrec/hal", "callrec/recorder", false},
		{"callrec/hal/haltest", "callrec/hal", true},
		{"callrec/firmware", "callrec/cmd/recorderd", false},
		{"callrec/firmware/recording", "callrec/storage/archive", true},
		{"callrec/firmware/recording", "callrec/storage/vault", false},
		{"callrec/cmd/recorderd", "callrec/storage/vault", false},
		{"callrec/cmd/recorderd", "callrec/storage/retention", false},
		{"callrec/storage/archive", "callrec/storage/vault", true},
		{"callrec/storage/archive", "callrec/recorder/mp3", false},
		{"callrec/recorder/pipeline", "callrec/recorder/mix", true},
		{"callrec/recorder/pipeline", "callrec/firmware/status", false},
	}
	for _, tt := range tests {
		if got := allowed(tt.pkg, tt.imp); got != tt.want {
			t.Errorf("allowed(%s, %s) = %v, want %v", tt.pkg, tt.imp, got, tt.want)
		}
	}
}

// TestLayers fails when any package of the tree, tests included, imports a
// layer it must not.
func TestLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range p.Imports {
			// Only the index touches bbolt (STYLE.md §7).
			if imp == "go.etcd.io/bbolt" && p.ImportPath != module+"/storage/index" {
				t.Errorf("%s imports bbolt: only storage/index may", p.ImportPath)
			}
		}
		for _, imp := range append(append(p.Imports, p.TestImports...), p.XTestImports...) {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if imp == p.ImportPath {
				continue // an external test package importing its own
			}
			if !allowed(p.ImportPath, imp) {
				t.Errorf("%s imports %s: not allowed by the layering (../shared/STYLE.md §1)", p.ImportPath, imp)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d packages; go list found too few", checked)
	}
}
