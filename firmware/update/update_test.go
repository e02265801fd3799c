package update

import (
	"archive/zip"
	"bytes"
	"callrec/firmware/internal/ziptest"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

type keys struct {
	root, release, stranger ed25519.PrivateKey
	cert                    string
	trust                   Trust
}

func newKeys() keys {
	var k keys
	_, k.root, _ = ed25519.GenerateKey(rand.Reader)
	_, k.release, _ = ed25519.GenerateKey(rand.Reader)
	_, k.stranger, _ = ed25519.GenerateKey(rand.Reader)
	k.cert = Certify(k.root, k.release.Public().(ed25519.PublicKey))
	k.trust = Trust{Roots: []ed25519.PublicKey{k.root.Public().(ed25519.PublicKey)}}
	return k
}

// binary writes a stand-in firmware binary.
func binary(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "recorderd")
	os.WriteFile(p, []byte(body), 0o755)
	return p
}

func sign(t *testing.T, bin string, m Manifest, key ed25519.PrivateKey, cert string) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Sign(&b, bin, m, key, cert); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rezip copies a bundle, letting change alter or drop entries.
func rezip(t *testing.T, in []byte, change func(name string, b []byte) []byte) []byte {
	return ziptest.Rezip(t, in, change, nil)
}

func check(b []byte, trust Trust, running string) (*Checked, error) {
	return Check(bytes.NewReader(b), int64(len(b)), trust, "sim", running)
}

func TestCheckRefusesBadBundles(t *testing.T) {
	k := newKeys()
	bin := binary(t, "new firmware")
	m := Manifest{Version: "1.4.0", Model: "sim", Arch: "amd64"}
	good := sign(t, bin, m, k.release, k.cert)
	c, err := check(good, k.trust, "1.3.2")
	if err != nil || c.Manifest.Version != "1.4.0" || c.Manifest.Size != int64(len("new firmware")) {
		t.Fatalf("a good bundle: %+v, %v", c, err)
	}
	// A release key every box lists needs no certificate.
	listed := Trust{Releases: []ed25519.PublicKey{k.release.Public().(ed25519.PublicKey)}}
	if _, err := check(sign(t, bin, m, k.release, ""), listed, "1.3.2"); err != nil {
		t.Errorf("a listed release key: %v", err)
	}
	drop := func(name string) []byte {
		return rezip(t, good, func(n string, b []byte) []byte {
			if n == name {
				return nil
			}
			return b
		})
	}
	replace := func(name string, with []byte) []byte {
		return rezip(t, good, func(n string, b []byte) []byte {
			if n == name {
				return with
			}
			return b
		})
	}
	strangerCert := Certify(k.stranger, k.release.Public().(ed25519.PublicKey))
	for name, tt := range map[string]struct {
		bundle  []byte
		running string
		want    error
	}{
		"no signature":         {drop(SignatureName), "1.3.2", ErrUnsigned},
		"a garbage signature":  {replace(SignatureName, []byte(base64.StdEncoding.EncodeToString(make([]byte, 64)))), "1.3.2", ErrSignature},
		"not base64":           {replace(SignatureName, []byte("!!")), "1.3.2", ErrSignature},
		"an untrusted key":     {sign(t, bin, m, k.stranger, ""), "1.3.2", ErrUntrusted},
		"a cert by a stranger": {sign(t, bin, m, k.release, strangerCert), "1.3.2", ErrUntrusted},
		"signed by the root":   {sign(t, bin, m, k.root, ""), "1.3.2", ErrRootSigned},
		"the manifest changed": {replace(ManifestName, bytes.Replace(mustRead(t, good, ManifestName), []byte("1.4.0"), []byte("9.4.0"), 1)), "1.3.2", ErrSignature},
		"a downgrade":          {good, "1.4.0", ErrDowngrade},
		"an older one":         {good, "2.0.0", ErrDowngrade},
		"another model":        {sign(t, bin, Manifest{Version: "1.4.0", Model: "cm4"}, k.release, k.cert), "1.3.2", ErrModel},
		"the binary grew":      {replace(BinaryName, []byte("new firmware!")), "1.3.2", ErrContent},
		"no trust":             {good, "1.3.2", ErrNoKeys},
		"not a zip":            {[]byte("hello"), "1.3.2", ErrMalformed},
	} {
		trust := k.trust
		if name == "no trust" {
			trust = Trust{}
		}
		if _, err := check(tt.bundle, trust, tt.running); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", name, err, tt.want)
		}
	}
	// A dev build (version "dev") takes any release.
	if _, err := check(good, k.trust, "dev"); err != nil {
		t.Errorf("over a dev build: %v", err)
	}
}

func mustRead(t *testing.T, bundle []byte, name string) []byte {
	zr, _ := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	for _, f := range zr.File {
		if f.Name == name {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			return b
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

// TestAChangedByteOfTheBinaryIsNotInstalled: same size, one byte
// changed: the signature is over the manifest, whose SHA-256 catches it
// as the binary streams into the slot; current stays.
func TestAChangedByteOfTheBinaryIsNotInstalled(t *testing.T) {
	k := newKeys()
	s := setUp(t)
	good := sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert)
	bad := rezip(t, good, func(n string, b []byte) []byte {
		if n == BinaryName {
			b[0] ^= 1
		}
		return b
	})
	c, err := check(bad, k.trust, "1.3.2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(c); !errors.Is(err, ErrContent) {
		t.Errorf("Install = %v, want ErrContent", err)
	}
	if exe, trial, _ := s.Boot("/nothing"); exe != s.Binary("a") || trial {
		t.Errorf("after a refused install the box boots %s (trial %v)", exe, trial)
	}
}

// setUp makes slots holding firmware 1.3.2 in slot a.
func setUp(t *testing.T) Slots {
	t.Helper()
	s := Slots{Root: t.TempDir()}
	if err := s.Init(binary(t, "old firmware"), "1.3.2"); err != nil {
		t.Fatal(err)
	}
	return s
}

func read(p string) string { b, _ := os.ReadFile(p); return string(b) }

func TestTrialBootAndMarkGood(t *testing.T) {
	k := newKeys()
	s := setUp(t)
	c, err := check(sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert), k.trust, "1.3.2")
	if err != nil {
		t.Fatal(err)
	}
	slot, err := s.Install(c)
	if err != nil || slot != "b" {
		t.Fatalf("Install = %s, %v", slot, err)
	}
	exe, trial, err := s.Boot(s.Binary("a"))
	if err != nil || exe != s.Binary("b") || !trial || read(exe) != "new firmware" {
		t.Fatalf("Boot = %s %v %v", exe, trial, err)
	}
	// The trial firmware, exec'd, boots as itself without spending a boot.
	if exe2, trial2, _ := s.Boot(s.Binary("b")); exe2 != s.Binary("b") || !trial2 {
		t.Errorf("the trial's own boot = %s %v", exe2, trial2)
	}
	if err := s.MarkGood(); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.Current(); cur != "b" || s.Version("b") != "1.4.0" {
		t.Errorf("after MarkGood current is %s (%s)", cur, s.Version(cur))
	}
	if exe, trial, _ := s.Boot(s.Binary("a")); exe != s.Binary("b") || trial {
		t.Errorf("the next boot: %s %v; want b, not on trial", exe, trial)
	}
	// update rollback returns to the previous slot.
	if prev, err := s.Rollback(); err != nil || prev != "a" {
		t.Errorf("Rollback = %s, %v", prev, err)
	}
	if exe, _, _ := s.Boot(s.Binary("b")); exe != s.Binary("a") {
		t.Errorf("after the rollback the box boots %s", exe)
	}
}

// TestTrialRunsOutOfBoots: a firmware that never marks itself good (it
// crashes before its health check) gets Tries boots, then current runs.
func TestTrialRunsOutOfBoots(t *testing.T) {
	k := newKeys()
	s := setUp(t)
	c, _ := check(sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert), k.trust, "1.3.2")
	if _, err := s.Install(c); err != nil {
		t.Fatal(err)
	}
	for i := range Tries {
		if exe, trial, _ := s.Boot(s.Binary("a")); exe != s.Binary("b") || !trial {
			t.Fatalf("boot %d: %s %v", i+1, exe, trial)
		}
	}
	if exe, trial, _ := s.Boot(s.Binary("a")); exe != s.Binary("a") || trial {
		t.Errorf("after %d failed boots: %s %v; want slot a", Tries, exe, trial)
	}
	if _, err := os.Lstat(filepath.Join(s.Root, "next")); !errors.Is(err, os.ErrNotExist) {
		t.Error("next still points at the failed firmware")
	}
}

// TestPowerCutDuringInstall: the install stops after each of its steps,
// as a power cut would; the box then boots a whole firmware: the old one,
// or (once next points at it) the new one on trial.
func TestPowerCutDuringInstall(t *testing.T) {
	k := newKeys()
	bundle := sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert)
	for step := 1; step <= 4; step++ {
		s := setUp(t)
		s.stopAfter = step
		c, _ := check(bundle, k.trust, "1.3.2")
		if _, err := s.Install(c); !errors.Is(err, errStopped) {
			t.Fatalf("step %d: %v", step, err)
		}
		s.stopAfter = 0
		exe, trial, err := s.Boot(s.Binary("a"))
		want, wantTrial := s.Binary("a"), false
		if step == 4 {
			want, wantTrial = s.Binary("b"), true
		}
		if err != nil || exe != want || trial != wantTrial {
			t.Errorf("cut after step %d: boots %s (trial %v, %v); want %s", step, exe, trial, err, want)
		}
		if got := read(exe); got != "old firmware" && got != "new firmware" {
			t.Errorf("cut after step %d: the binary booted is %q", step, got)
		}
	}
}

func TestAbandon(t *testing.T) {
	k := newKeys()
	s := setUp(t)
	c, _ := check(sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert), k.trust, "1.3.2")
	s.Install(c)
	s.Boot(s.Binary("a"))
	if err := s.Abandon(); err != nil {
		t.Fatal(err)
	}
	if exe, trial, _ := s.Boot(s.Binary("a")); exe != s.Binary("a") || trial {
		t.Errorf("after a failed health check the box boots %s (trial %v)", exe, trial)
	}
}

func TestEmbeddedTrustReads(t *testing.T) {
	if _, err := Trusted(); err != nil {
		t.Fatal(err)
	}
}

// TestNoRollbackToAFailedTrial: after a trial that failed, the other slot
// holds firmware that never ran well: rollback refuses it.
func TestNoRollbackToAFailedTrial(t *testing.T) {
	k := newKeys()
	s := setUp(t)
	c, _ := check(sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert), k.trust, "1.3.2")
	s.Install(c)
	s.Boot(s.Binary("a"))
	s.Abandon()
	if _, err := s.Rollback(); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("Rollback to a failed trial = %v, want ErrNoPrevious", err)
	}
	if exe, _, _ := s.Boot(s.Binary("a")); exe != s.Binary("a") {
		t.Errorf("boots %s", exe)
	}
}

// FuzzCheck: any bytes as a bundle give an answer, never a panic, and
// nothing passes without a trusted signature.
func FuzzCheck(f *testing.F) {
	k := newKeys()
	dir := f.TempDir()
	bin := filepath.Join(dir, "recorderd")
	os.WriteFile(bin, []byte("firmware"), 0o755)
	var good bytes.Buffer
	Sign(&good, bin, Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert)
	f.Add(good.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := check(data, k.trust, "1.3.2")
		if err == nil && (c.Manifest.Version == "" || c.Manifest.Model != "sim") {
			t.Fatalf("accepted %+v", c.Manifest)
		}
	})
}

// TestStarting: outside the slots nothing changes; inside, the current
// firmware runs itself, an installed one on trial is exec'd, and a
// restart runs current (which boots what is next).
func TestStarting(t *testing.T) {
	if st, err := Starting("off", "/x"); err != nil || st.Slots != nil || st.Exec != "" {
		t.Errorf("off: %+v %v", st, err)
	}
	if _, err := Starting(t.TempDir(), "/x"); err == nil {
		t.Error("slots not set up: no error")
	}
	k := newKeys()
	s := setUp(t)
	st, err := Starting(s.Root, s.Binary("a"))
	if err != nil || st.Slots == nil || st.Exec != "" || st.Trial || st.RestartBinary("/x") != s.Binary("a") {
		t.Fatalf("the current firmware: %+v %v", st, err)
	}
	c, _ := check(sign(t, binary(t, "new firmware"), Manifest{Version: "1.4.0", Model: "sim"}, k.release, k.cert), k.trust, "1.3.2")
	s.Install(c)
	if st, _ := Starting(s.Root, s.Binary("a")); st.Exec != s.Binary("b") || !st.Trial {
		t.Errorf("with a trial pending: %+v", st)
	}
	if st, _ := Starting(s.Root, s.Binary("b")); st.Exec != "" || !st.Trial || st.Slots == nil {
		t.Errorf("the trial firmware itself: %+v", st)
	}
}

// TestKeyFilesAndSignFile: key files written, a release key certified from
// files, a bundle signed to a new file that a box trusting the root
// accepts; an existing file is never overwritten.
func TestKeyFilesAndSignFile(t *testing.T) {
	dir := t.TempDir()
	root, rel := filepath.Join(dir, "root"), filepath.Join(dir, "rel")
	for p, what := range map[string]string{root: "root", rel: "release"} {
		if err := WriteKeyPair(p, what); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := os.Stat(root + ".key"); st.Mode().Perm() != 0o600 {
		t.Errorf("the private key is %v", st.Mode().Perm())
	}
	cert, err := CertifyFiles(root+".key", rel+".pub")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(rel+".cert", []byte(cert), 0o644)
	out := filepath.Join(dir, "b.zip")
	bin := binary(t, "firmware")
	if _, err := SignFile(out, bin, Manifest{Version: "2.0.0", Model: "sim"}, rel+".key", rel+".cert"); err != nil {
		t.Fatal(err)
	}
	rootPub, _ := os.ReadFile(root + ".pub")
	k, _ := ParseKey(string(rootPub))
	b, _ := os.ReadFile(out)
	if _, err := check(b, Trust{Roots: []ed25519.PublicKey{k}}, "1.0.0"); err != nil {
		t.Errorf("the signed file: %v", err)
	}
	if _, err := SignFile(out, bin, Manifest{Version: "2.0.1", Model: "sim"}, rel+".key", rel+".cert"); err == nil {
		t.Error("an existing bundle was overwritten")
	}
	if b2, _ := os.ReadFile(out); !bytes.Equal(b, b2) {
		t.Error("the existing bundle changed")
	}
}
