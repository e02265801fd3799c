package web_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"callrec/firmware/web"
	"callrec/storage/index"
)

func pemPair(t *testing.T, notAfter time.Time) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "recorder.practice.local"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, DNSNames: []string{"recorder.practice.local"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

func (c *client) upload(path string, files map[string][]byte) (*http.Response, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", c.csrf)
	for name, b := range files {
		w, _ := mw.CreateFormFile(name, name+".pem")
		w.Write(b)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.b.ts.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// TestCertificates: the first start makes a self-signed ECDSA certificate
// (its key private to the daemon); the Head of IG uploads the practice's
// own, which is served at once; a key of another certificate, or an
// expired one, is refused and the old one stays.
func TestCertificates(t *testing.T) {
	dir := t.TempDir()
	certs, made, err := web.LoadCerts(dir, time.Now())
	if err != nil || !made {
		t.Fatalf("LoadCerts = %v, made %v", err, made)
	}
	if fi, err := os.Stat(filepath.Join(dir, "web.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("web.key: %v %v, want mode 0600", fi.Mode(), err)
	}
	crt, _ := certs.Get(nil)
	leaf, _ := x509.ParseCertificate(crt.Certificate[0])
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || len(certs.Fingerprint()) != 95 {
		t.Errorf("self-signed certificate: key %T, fingerprint %q", leaf.PublicKey, certs.Fingerprint())
	}
	again, made, err := web.LoadCerts(dir, time.Now())
	if err != nil || made || again.Fingerprint() != certs.Fingerprint() {
		t.Errorf("a second start made a new certificate: %v %v", made, err)
	}

	b := newBox(t)
	boss := b.signIn("boss")
	before := regexp.MustCompile(`id="fingerprint">([^<]+)<`)
	_, page := boss.get("/users")
	old := before.FindStringSubmatch(page)[1]
	goodCert, goodKey := pemPair(t, time.Now().AddDate(1, 0, 0))
	_, otherKey := pemPair(t, time.Now().AddDate(1, 0, 0))
	expCert, expKey := pemPair(t, time.Now().Add(-time.Minute))
	for name, files := range map[string]map[string][]byte{
		"mismatched key": {"certificate": goodCert, "key": otherKey},
		"expired":        {"certificate": expCert, "key": expKey},
		"no key":         {"certificate": goodCert},
	} {
		if resp, _ := boss.upload("/settings/certificate", files); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	sup := b.signIn("sup")
	if resp, _ := sup.upload("/settings/certificate", map[string][]byte{"certificate": goodCert, "key": goodKey}); resp.StatusCode != 403 {
		t.Errorf("a supervisor's upload = %d, want 403", resp.StatusCode)
	}
	resp, page := boss.upload("/settings/certificate", map[string][]byte{"certificate": goodCert, "key": goodKey})
	now := before.FindStringSubmatch(page)
	if resp.StatusCode != 200 || now == nil || now[1] == old {
		t.Fatalf("upload = %d", resp.StatusCode)
	}
	// The daemon's listener serves it to new connections.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.srv.Serve(ctx, ln, nil)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := web.Fingerprint(conn.ConnectionState().PeerCertificates[0].Raw); got != now[1] {
		t.Errorf("served %s, want the uploaded %s", got, now[1])
	}
}

// TestTOTPRequired: once the Head of IG requires two-step sign-in, an
// account without it can only set it up; set up from the QR code's key,
// sign-in asks for the code.
func TestTOTPRequired(t *testing.T) {
	b := newBox(t)
	boss := b.signIn("boss")
	if resp := boss.post("/settings/totp", url.Values{"require": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("require = %d", resp.StatusCode)
	}
	sup := b.browser()
	resp := sup.post("/signin", url.Values{"name": {"sup"}, "password": {pw}})
	if loc := resp.Header.Get("Location"); loc != "/account" {
		t.Fatalf("signed in to %q, want /account", loc)
	}
	if resp, _ := sup.get("/calls"); resp.Header.Get("Location") != "/account" {
		t.Errorf("/calls before setting up TOTP = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := sup.get("/account")
	sup.csrf = csrfMeta.FindStringSubmatch(page)[1]
	secret := regexp.MustCompile(`<code class="key">([A-Z2-7]+)</code>`).FindStringSubmatch(page)
	if secret == nil {
		t.Fatal("no key on the set-up page")
	}
	if resp, png := sup.get("/account/totp.png"); resp.StatusCode != 200 || !strings.HasPrefix(png, "\x89PNG") {
		t.Errorf("QR code = %d", resp.StatusCode)
	}
	if resp := sup.post("/account/totp", url.Values{"code": {"000000"}}); resp.StatusCode != 400 {
		t.Errorf("a wrong code = %d, want 400", resp.StatusCode)
	}
	code, _ := totp.GenerateCode(secret[1], time.Now())
	if resp := sup.post("/account/totp", url.Values{"code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set-up = %d", resp.StatusCode)
	}
	if resp, _ := sup.get("/calls"); resp.StatusCode != 200 {
		t.Errorf("/calls after set-up = %d", resp.StatusCode)
	}
	c := b.browser()
	if resp, body := c.postBody("/signin", url.Values{"name": {"sup"}, "password": {pw}}); resp.StatusCode != 401 || !strings.Contains(body, "authenticator") {
		t.Errorf("sign-in without the code = %d", resp.StatusCode)
	}
	code, _ = totp.GenerateCode(secret[1], time.Now())
	if resp := c.post("/signin", url.Values{"name": {"sup"}, "password": {pw}, "code": {code}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/calls" {
		t.Errorf("sign-in with the code = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestConversationIsOneRow: a call and its transfer share a conversation
// and show as one row that opens to the other leg.
func TestConversationIsOneRow(t *testing.T) {
	b := newBox(t)
	first := b.calls[1]
	transfer := *first
	transfer.ID, transfer.Start = first.ID+"-t", first.Start.Add(30*time.Second)
	transfer.To = index.Party{Raw: "202", Extension: "202"}
	transfer.Extensions = []string{"202"}
	if err := b.a.Index().Put(&transfer); err != nil {
		t.Fatal(err)
	}
	c := b.signIn("sup")
	_, page := c.get("/calls?number=" + url.QueryEscape(patient))
	if rows := strings.Count(page, `aria-label="Open the call`); rows != 1 || !strings.Contains(page, "1 more call in this conversation") || !strings.Contains(page, `/calls/`+first.ID+`"`) {
		t.Errorf("%d rows; want one row with the transfer inside", rows)
	}
}

// TestServe: the page over TLS on a real listener, and the plain-HTTP
// listener that only redirects to it.
func TestServe(t *testing.T) {
	b := newBox(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	rl, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.srv.Serve(ctx, ln, rl) }()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get("http://" + rl.Addr().String() + "/calls?x=1")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if err != nil || resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://127.0.0.1:"+port+"/calls?x=1" {
		t.Errorf("plain HTTP = %v %v", resp, err)
	}
	resp, err = cl.Get("https://" + ln.Addr().String() + "/signin")
	if err != nil || resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("HTTPS = %v %v", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}
}
