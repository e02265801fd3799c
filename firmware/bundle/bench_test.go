package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBuild measures building a bundle of 20 one-megabyte MP3s
// (random bytes: MP3 does not compress), plain and AES-256 encrypted, and
// the encrypted build's ratio to 7-Zip making an AES-256 ZIP of the same
// files (-mx0, stored, as ours), CPU time of each, best run.
func BenchmarkBuild(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	const files, size = 20, 1 << 20
	bodies := make([][]byte, files)
	dir := b.TempDir()
	var paths []string
	for i := range bodies {
		bodies[i] = make([]byte, size)
		rand.Read(bodies[i])
		p := filepath.Join(dir, fmt.Sprintf("%02d.mp3", i))
		os.WriteFile(p, bodies[i], 0o600)
		paths = append(paths, p)
	}
	srcs := make([]Source, files)
	for i := range srcs {
		body := bodies[i]
		srcs[i] = Source{File: File{CallID: fmt.Sprintf("c%02d", i), Start: time.Unix(int64(i)*3600, 0)}, Size: size,
			Write: func(w io.Writer) error { _, err := w.Write(body); return err }}
	}
	ref := sevenZipCPU(b, dir, paths)
	for _, pw := range []string{"", "bench-password-1234"} {
		name := "plain"
		if pw != "" {
			name = "aes256"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(files * size)
			fastest := time.Duration(1 << 62)
			for b.Loop() {
				start := time.Now()
				if _, err := Build(io.Discard, Manifest{Case: "SAR-1"}, srcs, nil, key, pw); err != nil {
					b.Fatal(err)
				}
				fastest = min(fastest, time.Since(start))
			}
			b.ReportMetric(files*size/fastest.Seconds()/1e6, "MB/s")
			if pw != "" && ref > 0 {
				b.ReportMetric(fastest.Seconds()/ref, "x-7zip-aes")
			}
		})
	}
}

// sevenZipCPU is 7-Zip's CPU time (user+system, best of three) to make an
// AES-256 ZIP of the files, or 0 without 7-Zip.
func sevenZipCPU(b *testing.B, dir string, paths []string) float64 {
	sz := ""
	for _, n := range []string{"7zz", "7z"} {
		if p, err := exec.LookPath(n); err == nil {
			sz = p
			break
		}
	}
	if sz == "" {
		return 0
	}
	best := 0.0
	for i := range 3 {
		out := filepath.Join(dir, fmt.Sprintf("ref%d.zip", i))
		cmd := exec.Command(sz, append([]string{"a", "-tzip", "-mx0", "-mmt1", "-mem=AES256", "-pbench-password-1234", out}, paths...)...)
		if err := cmd.Run(); err != nil {
			b.Fatalf("7-Zip: %v", err)
		}
		t := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		if best == 0 || t < best {
			best = t
		}
		os.Remove(out)
	}
	return best
}
