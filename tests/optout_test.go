package tests

import (
	ct "callrec/recorder/capture/capturetest"
	"crypto/tls"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/chromedp/chromedp"

	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Opt-out of live SIPp calls recorded by `recorderd run` on loopback.

// sippInBackground starts one SIPp call to each called number at once, in the
// background; wait returns when they are over.
func sippInBackground(t *testing.T, port int, called ...string) (wait func()) {
	var wg sync.WaitGroup
	for i, c := range called {
		wg.Add(1)
		go func() { defer wg.Done(); sippCallsTo(t, port+20*i, 1, c) }()
	}
	return wg.Wait
}

// recordingNow waits until n calls are being recorded and returns them.
func (b *box) recordingNow(n int) []storedCall {
	b.t.Helper()
	var cs []storedCall
	waitFor(b.t, "calls being recorded", 15*time.Second, func() bool {
		cs = slices.DeleteFunc(b.calls(), func(c storedCall) bool { return c.Recording.State != "recording" })
		return len(cs) >= n
	})
	return cs
}

// checkOptedOut checks what is left of an opted-out call: its record,
// flagged, with no audio in the vault or anywhere in the data directory,
// an export refused with the reason, and its audit entry.
func (b *box) checkOptedOut(id string) {
	b.t.Helper()
	var c storedCall
	for _, x := range b.calls() {
		if x.ID == id {
			c = x
		}
	}
	if c.ID == "" || c.Recording.State != "opted_out" || !slices.Contains(c.Flags, "opted_out") || c.Recording.SHA256 != "" || len(c.Numbers) == 0 {
		b.t.Errorf("opted-out call %s: %+v", id, c)
	}
	filepath.WalkDir(filepath.Join(b.dir, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), id) {
			b.t.Errorf("a file of the opted-out call survives: %s", p)
		}
		return nil
	})
	out, err := b.run("export", "-call", id, "-out", filepath.Join(b.t.TempDir(), "x.mp3"))
	if err == nil || !strings.Contains(out, "opted out") {
		b.t.Errorf("export of an opted-out call: %v\n%s", err, out)
	}
	if log := b.must("audit", "list"); !strings.Contains(log, `"action":"optout","target":"`+id+`"`) {
		b.t.Errorf("no opt-out of %s in the audit log:\n%s", id, log)
	}
	if out := b.must("verify"); !strings.Contains(out, " 0 problems") {
		b.t.Errorf("verify after the opt-out:\n%s", out)
	}
}

// TestOptOutCommand: `recorderd optout` beside the daemon stops one of two
// live calls; the other is recorded whole; the opt-out LED lit.
func TestOptOutCommand(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	stderr, stop, _ := b.startDaemon()
	wait := sippInBackground(t, 5440, "01632960201", "01632960202")
	cs := b.recordingNow(2)
	target, other := cs[0].ID, cs[1].ID
	if out, err := b.run("optout", "-call", target); err == nil || !strings.Contains(out, "-why") {
		t.Errorf("optout without a reason: %v %s", err, out)
	}
	asked := time.Now()
	out := b.must("optout", "-call", target, "-who", "ext 201", "-why", "the caller asked")
	answered := time.Since(asked)
	m := regexp.MustCompile(`recording stopped ([0-9.]+) ms after the request reached the daemon, audio destroyed ([0-9.]+) ms after`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("optout said: %s", out)
	}
	t.Logf("opt-out by command: recording stopped %s ms and audio destroyed %s ms after the request reached the daemon; the command answered in %v", m[1], m[2], answered.Round(time.Millisecond))
	if out, err := b.run("optout", "-call", target, "-why", "again"); err == nil || !strings.Contains(out, "already opted out") {
		t.Errorf("a second opt-out: %v %s", err, out)
	}
	wait()
	waitFor(t, "both calls to end", 20*time.Second, func() bool {
		n := 0
		for _, c := range b.calls() {
			if c.ID == other && c.Recording.State == "complete" {
				n++
			}
			if c.ID == target && c.EndReason != "" {
				n++
			}
		}
		return n == 2
	})
	if out, err := b.run("optout", "-call", target, "-why", "late"); err == nil || !strings.Contains(out, "already opted out") {
		t.Errorf("an opt-out after the end: %v %s", err, out)
	}
	if out, err := b.run("optout", "-call", other, "-why", "late"); err == nil || !strings.Contains(out, "has ended") {
		t.Errorf("an opt-out of an ended call: %v %s", err, out)
	}
	b.checkOptedOut(target)
	for _, c := range b.calls() {
		if c.ID == other && (slices.Contains(c.Flags, "opted_out") || c.Recording.Duration < 5000) {
			t.Errorf("the other call was touched: %+v", c)
		}
	}
	b.must("export", "-call", other, "-out", filepath.Join(t.TempDir(), "other.mp3"))
	if !strings.Contains(stderr.String(), "led=optout on=true") {
		t.Error("the opt-out LED never lit")
	}
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// TestOptOutSurvivesKill: kill -9 right after an opt-out; after the
// restart the recording is still gone, and the rest of the call, which
// the daemon follows again, is not recorded either.
func TestOptOutSurvivesKill(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	_, _, kill := b.startDaemon()
	wait := sippInBackground(t, 5480, "01632960301")
	target := b.recordingNow(1)[0].ID
	b.must("optout", "-call", target, "-why", "the caller asked")
	kill()
	_, stop, _ := b.startDaemon()
	wait()
	var rest []storedCall
	waitFor(t, "the call to end", 30*time.Second, func() bool {
		rest = rest[:0]
		ended := false
		for _, c := range b.calls() {
			if c.ID == target {
				continue
			}
			rest = append(rest, c)
			ended = ended || c.EndReason != ""
		}
		return ended
	})
	b.checkOptedOut(target)
	for _, c := range rest {
		if c.Recording.State != "" && c.Recording.State != "opted_out" {
			t.Errorf("after the restart the call was recorded again: %+v", c)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// TestOptOutOnThePage: the Head of IG puts a number on the do-not-record
// list, then two SIPp calls run: the listed one is never recorded, and the
// other is opted out with the live page's button, in the browser.
func TestOptOutOnThePage(t *testing.T) {
	needTool(t, "sipp")
	w := startWebBox(t)
	once := w.addUser("boss", "head_of_ig")
	ctx := chrome(t)
	signInFirst(t, ctx, w.url, "boss", once)
	do(t, ctx, "the do-not-record page", chromedp.WaitVisible("form.filters"), chromedp.Navigate(w.url+"donotrecord"), chromedp.WaitVisible("#dnr-number"),
		chromedp.SendKeys("#dnr-number", "01632 960502"), chromedp.SendKeys("#dnr-reason", "the patient's written wish"),
		chromedp.Click(`form[action="/donotrecord"] button`), chromedp.WaitVisible(`#dnr tbody tr`))
	accessible(t, ctx, "do not record")
	shot(t, ctx, "do-not-record")

	wait := sippInBackground(t, 5520, "01632960501", "01632960502")
	do(t, ctx, "the live page", chromedp.Navigate(w.url+"live"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#live-body tr').length === 2 && document.querySelectorAll('#live-body form button').length === 1`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the live page never showed the two calls, one of them not recorded: %v", err)
	}
	accessible(t, ctx, "live")
	shot(t, ctx, "live")
	clicked := time.Now()
	do(t, ctx, "opt out", chromedp.Click(`#live-body form button`), chromedp.WaitVisible("#optout-done"))
	msg := eval[string](t, ctx, `document.getElementById('optout-done').textContent`)
	t.Logf("opt-out on the page: %q, %v from the click to the answer shown", msg, time.Since(clicked).Round(time.Millisecond))
	wait()
	var listed, opted storedCall
	waitFor(t, "both calls to end", 30*time.Second, func() bool {
		for _, c := range w.calls() {
			switch {
			case slices.Contains(c.Numbers, "+441632960502"):
				listed = c
			case slices.Contains(c.Numbers, "+441632960501"):
				opted = c
			}
		}
		return listed.EndReason != "" && opted.EndReason != ""
	})
	if listed.Recording.State != "" || !slices.Contains(listed.Flags, "do_not_record") || !slices.Contains(listed.Flags, "opted_out") {
		t.Errorf("the listed number's call: %+v", listed)
	}
	w.checkOptedOut(opted.ID)
	if err := w.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// dtmfScenario is a SIPp UAC, from FROM to the called number, that plays
// 7 s of speech and (KEYS) keys * then 9 (RFC 4733) 2 s in.
const dtmfScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAC keying the opt-out code">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:FROM@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:FROM@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[local_ip_type] [local_ip]
t=0 0
m=audio [auto_media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:FROM@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:FROM@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
  <nop><action><exec play_pcap_audio="pcap/g711a.pcap"/></action></nop>
  <pause milliseconds="2000"/>
KEYS
  <pause milliseconds="5500"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:FROM@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:FROM@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
`

const keys = `  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_star.pcap"/></action></nop>
  <pause milliseconds="600"/>
  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_9.pcap"/></action></nop>`

// sippKeying makes one call from `from` to `called` that keys *9; echo
// makes the far end send everything back (the *9 too, from its side).
func sippKeying(t *testing.T, port int, from, called string, echo bool) {
	sippScenario(t, port, from, called, keys, echo)
}

// sippScenario makes one call of dtmfScenario, with what to key.
func sippScenario(t *testing.T, port int, from, called, keyed string, echo bool) {
	withScenario(t, dtmfScenario, port, from, called, keyed, echo)
}

// withScenario makes one call of a scenario like dtmfScenario.
func withScenario(t *testing.T, scenario string, port int, from, called, keyed string, echo bool) {
	t.Helper()
	dir := t.TempDir()
	os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap"))
	xml := strings.NewReplacer("FROM", from, "KEYS", keyed).Replace(scenario)
	os.WriteFile(filepath.Join(dir, "uac.xml"), []byte(xml), 0o644)
	p := strconv.Itoa
	args := []string{"-sn", "uas", "-i", "127.0.0.1", "-p", p(port), "-mi", "127.0.0.1", "-mp", p(port + 10000), "-m", "1", "-timeout", "60s", "-nostdin"}
	if echo {
		args = append(args, "-rtp_echo")
	}
	uas := exec.Command("sipp", args...)
	uas.Dir = dir
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer uas.Process.Kill()
	uac := exec.Command("sipp", "-sf", "uac.xml", "127.0.0.1:"+p(port), "-s", called, "-i", "127.0.0.1", "-p", p(port+1), "-mi", "127.0.0.1",
		"-m", "1", "-timeout", "60s", "-nostdin")
	uac.Dir = dir
	if out, err := uac.CombinedOutput(); err != nil {
		t.Logf("sipp uac: %v\n%s", err, out)
	}
}

// TestOptOutByDTMF: the practice side keys *9 during an outbound call (the
// far end echoes the digits, from the outside side, which must not count
// twice or at all); an outside caller keying *9 into an inbound call opts
// nothing out.
func TestOptOutByDTMF(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	stderr, stop, _ := b.startDaemon()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sippKeying(t, 5560, "201", "01632960601", true) }()  // outbound: the practice keys it
	go func() { defer wg.Done(); sippKeying(t, 5580, "01632960602", "202", false) }() // inbound: the caller keys it
	wg.Wait()
	var out, in storedCall
	waitFor(t, "both calls to end", 20*time.Second, func() bool {
		for _, c := range b.calls() {
			switch {
			case slices.Contains(c.Numbers, "+441632960601"):
				out = c
			case slices.Contains(c.Numbers, "+441632960602"):
				in = c
			}
		}
		return out.EndReason != "" && in.EndReason != ""
	})
	b.checkOptedOut(out.ID)
	if slices.Contains(in.Flags, "opted_out") || in.Recording.State != "complete" {
		t.Errorf("the outside caller's *9 opted the call out: %+v", in)
	}
	log := b.must("audit", "list")
	if !strings.Contains(log, "extension 201") || !strings.Contains(log, "trigger dtmf") {
		t.Errorf("the audit log does not say who keyed it, and how:\n%s", log)
	}
	if m := regexp.MustCompile(`msg="call opted out".*trigger=dtmf.*stopped_ms=(\d+) done_ms=(\d+)`).FindStringSubmatch(stderr.String()); m == nil {
		t.Errorf("the daemon did not log the opt-out:\n%s", stderr.String())
	} else {
		t.Logf("opt-out by DTMF: recording stopped %s ms and audio destroyed %s ms after the code was heard", m[1], m[2])
	}
	if strings.Contains(stderr.String(), "digit") {
		t.Error("the log mentions digits")
	}
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// pageClient signs in to the daemon's page as name (changing the one-time
// password) and returns the client and its CSRF token.
func (w *webBox) pageClient(name, once string) (*http.Client, string) {
	w.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	post := func(path string, form url.Values) string {
		resp, err := c.PostForm(w.url+strings.TrimPrefix(path, "/"), form)
		if err != nil {
			w.t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	page := post("/signin", url.Values{"name": {name}, "password": {once}})
	csrf := regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`).FindStringSubmatch(page)
	if csrf == nil {
		w.t.Fatalf("signing in as %s: %.300s", name, page)
	}
	post("/password", url.Values{"csrf": {csrf[1]}, "old": {once}, "new": {newPassword}, "again": {newPassword}})
	return c, csrf[1]
}

// TestOptOutByPhoneKey: the Head of IG registers extension 201's phone
// (its address here is 127.0.0.1); the phone's key, a plain GET with its
// secret, opts out its live call and gets a Mitel reply that lights the
// key; a wrong secret is refused.
func TestOptOutByPhoneKey(t *testing.T) {
	needTool(t, "sipp")
	w := startWebBox(t)
	c, csrf := w.pageClient("boss", w.addUser("boss", "head_of_ig"))
	resp, err := c.PostForm(w.url+"phones", url.Values{"csrf": {csrf}, "extension": {"201"}, "addr": {"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`id="phone-url">https://[^/]+(/optout\?[^<]+)</code>`).FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("no key URL on the page: %.500s", body)
	}
	keyURL := strings.NewReplacer("&amp;", "&", "$$SIPUSERNAME$$", "201", "$$REMOTENUMBER$$", "01632960701").Replace(m[1]) + "&key=2"
	phone := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	press := func(u string) (int, string) {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(w.url, "/")+u, nil)
		req.Header.Set("User-Agent", "Mitel6867i/6.2.0.1011")
		resp, err := phone.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	done := make(chan struct{})
	go func() { defer close(done); sippScenario(t, 5600, "201", "01632960701", "", true) }()
	target := w.recordingNow(1)[0].ID
	if code, _ := press(strings.Replace(keyURL, "k=", "k=x", 1)); code != http.StatusForbidden {
		t.Errorf("a wrong secret = %d, want 403", code)
	}
	code, reply := press(keyURL)
	if code != http.StatusOK || !strings.Contains(reply, "Led: prgkey2=on") {
		t.Errorf("the key = %d %s; want the Mitel reply lighting key 2", code, reply)
	}
	<-done
	waitFor(t, "the call to end", 20*time.Second, func() bool {
		for _, c := range w.calls() {
			if c.ID == target {
				return c.EndReason != ""
			}
		}
		return false
	})
	w.checkOptedOut(target)
	if log := w.must("audit", "list"); !strings.Contains(log, "optout-refused") || !strings.Contains(log, "trigger phone-key") {
		t.Errorf("the audit log lacks the refusal or the opt-out:\n%s", log)
	}
	if err := w.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// TestOptOutByPanelButton: the simulated board's button (SIGUSR1) opts out
// the one live call; with two live calls it asks for the choice on the web
// page, and the opt-out LED blinks at 2 Hz, as `recorderd status` shows.
func TestOptOutByPanelButton(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	stderr, stop, _ := b.startDaemon()
	press := func() { syscall.Kill(b.pid, syscall.SIGUSR1) }
	wait := sippInBackground(t, 5640, "01632960801")
	one := b.recordingNow(1)[0].ID
	press()
	waitFor(t, "the opt-out", 5*time.Second, func() bool { return strings.Contains(stderr.String(), "opted out the call in progress") })
	wait()
	wait = sippInBackground(t, 5680, "01632960802", "01632960803")
	var two []storedCall
	waitFor(t, "two new calls recorded", 15*time.Second, func() bool {
		two = slices.DeleteFunc(b.calls(), func(c storedCall) bool { return c.Recording.State != "recording" || c.ID == one })
		return len(two) == 2
	})
	press()
	waitFor(t, "the choice asked", 5*time.Second, func() bool { return strings.Contains(stderr.String(), "choose on the web page") })
	waitFor(t, "the opt-out LED blinking in the status", 10*time.Second, func() bool {
		out, err := b.run("status")
		return err == nil && strings.Contains(out, `"optout": "2 Hz"`)
	})
	wait()
	waitFor(t, "the calls to end", 20*time.Second, func() bool {
		n := 0
		for _, c := range b.calls() {
			if c.EndReason != "" {
				n++
			}
		}
		return n == 3
	})
	b.checkOptedOut(one)
	for _, c := range b.calls() {
		if c.ID != one && slices.Contains(c.Flags, "opted_out") {
			t.Errorf("a press with two calls live opted one out by itself: %+v", c)
		}
	}
	if log := b.must("audit", "list"); !strings.Contains(log, "front panel") || !strings.Contains(log, "trigger panel") {
		t.Errorf("the audit log lacks the panel's opt-out:\n%s", log)
	}
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// inboundPackets is how many RTP packets the page's listen-in connection
// has received (its RTCPeerConnection's stats), -1 if it has none.
const inboundPackets = `(async () => {
  const pc = window.callrecListening;
  if (!pc) { return -1; }
  let n = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp') { n += r.packetsReceived || 0; } });
  return n;
})()`

// TestListenIn: a supervisor listens in to a live SIPp call in the
// browser (WebRTC, host candidates on loopback): packets arrive on both
// tracks and the audio plays; the live page shows who listens; opting the
// call out stops the listening at once.
func TestListenIn(t *testing.T) {
	needTool(t, "sipp")
	w := startWebBox(t)
	once := w.addUser("sup", "supervisor")
	ctx := chrome(t)
	signInFirst(t, ctx, w.url, "sup", once)
	done := make(chan struct{})
	go func() { defer close(done); sippScenario(t, 5720, "201", "01632960901", "", true) }()
	target := w.recordingNow(1)[0].ID
	do(t, ctx, "the live page", chromedp.WaitVisible("form.filters"), chromedp.Navigate(w.url+"live"),
		chromedp.WaitVisible(`#live-body button.listen`), chromedp.Click(`#live-body button.listen`),
		chromedp.WaitVisible("#listen-start"), chromedp.Click("#lr-quality"), chromedp.Click("#listen-start"))
	packets := func() int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](inboundPackets, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	started := time.Now()
	waitFor(t, "packets on the listen-in connection", 15*time.Second, func() bool { return packets() > 50 })
	t.Logf("listen-in: 50 packets %v after Start", time.Since(started).Round(time.Millisecond))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('listen-audio').currentTime > 0.5`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the listen-in audio does not play: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#live-body').textContent.includes('listened to by sup')`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("the live page does not show who listens: %v", err)
	}
	// The delay the browser adds (its jitter buffer), on top of the box's
	// pass-through: the bound is 500 ms from the wire.
	delay, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(async () => {
  let d = 0, n = 0;
  (await window.callrecListening.getStats()).forEach(r => { if (r.type === 'inbound-rtp') { d += r.jitterBufferDelay || 0; n += r.jitterBufferEmittedCount || 0; } });
  return n ? 1000 * d / n : -1;
})()`, chromedp.EvalAwaitPromise))
	if err == nil {
		t.Logf("listen-in: the browser's jitter buffer holds %.0f ms on average", delay)
	}
	shot(t, ctx, "listen-in")
	// Opt the call out: the listening stops with it.
	w.must("optout", "-call", target, "-why", "the caller asked")
	waitFor(t, "the listening to stop", 10*time.Second, func() bool {
		a := packets()
		time.Sleep(600 * time.Millisecond)
		return packets() == a
	})
	<-done
	log := w.must("audit", "list")
	for _, want := range []string{"listen-start", "listen-stop", "the call was opted out"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	if err := w.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// inbandPcap writes 7 s of µ-law RTP for SIPp to play: a quiet 300 Hz
// hum, with the opt-out code keyed as in-band tones 2 s in (* then 9,
// 150 ms each): no RFC 4733 event at all.
func inbandPcap(t *testing.T, path string) {
	t.Helper()
	tones := map[int][2]float64{}
	for _, k := range []struct {
		at   int // 20 ms packet
		f1   float64
		f2   float64
		dur  int
		name string
	}{{100, 941, 1209, 8, "*"}, {116, 852, 1477, 8, "9"}} {
		for i := k.at; i < k.at+k.dur; i++ {
			tones[i] = [2]float64{k.f1, k.f2}
		}
	}
	fill := func(i int) []byte {
		pcm := make([]int16, 160)
		for j := range pcm {
			n := float64(i*160 + j)
			v := 300 * math.Sin(2*math.Pi*300*n/8000)
			if f, ok := tones[i]; ok {
				v = 6000*math.Sin(2*math.Pi*f[0]*n/8000) + 6000*math.Sin(2*math.Pi*f[1]*n/8000)
			}
			pcm[j] = int16(v)
		}
		return ct.ULaw(pcm)
	}
	frames := ct.Stream(netip.MustParseAddrPort("10.9.9.1:4000"), netip.MustParseAddrPort("10.9.9.2:4000"), 0x5151, time.Unix(0, 0), 350, fill)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ct.WritePcap(f, 1, frames); err != nil {
		t.Fatal(err)
	}
}

// TestOptOutByInbandDTMF: the practice side keys *9 as tones in the audio
// (a phone that sends no RFC 4733 events): the call is opted out.
func TestOptOutByInbandDTMF(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	_, stop, _ := b.startDaemon()
	media := filepath.Join(t.TempDir(), "inband.pcap")
	inbandPcap(t, media)
	scenario := strings.NewReplacer("RTP/AVP 8 101", "RTP/AVP 0 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000",
		"pcap/g711a.pcap", media).Replace(dtmfScenario)
	withScenario(t, scenario, 5760, "201", "01632961001", "", false)
	var call storedCall
	waitFor(t, "the call to end", 20*time.Second, func() bool {
		for _, c := range b.calls() {
			if slices.Contains(c.Numbers, "+441632961001") {
				call = c
			}
		}
		return call.EndReason != ""
	})
	b.checkOptedOut(call.ID)
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// infoKeys keys * then 9 by SIP INFO (application/dtmf-relay), each
// answered by the far end.
var infoKeys = infoKey("*", 2) + "\n  <pause milliseconds=\"500\"/>\n" + infoKey("9", 3)

// infoKey is one SIP INFO keying a digit, and the far end's answer.
func infoKey(digit string, cseq int) string {
	return `  <send><![CDATA[
INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:FROM@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ` + strconv.Itoa(cseq) + ` INFO
Contact: sip:FROM@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal=` + digit + `
Duration=160
]]></send>
  <recv response="200"/>`
}

// answer receives a request and answers it 200 OK, as a SIPp UAS.
func answer(method string) string {
	return `  <recv request="` + method + `"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
`
}

// uasInfo is SIPp's built-in UAS that also answers two INFOs.
var uasInfo = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAS answering INFO">
  <recv request="INVITE"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
]]></send>
  <recv request="ACK" optional="true"/>
` + answer("INFO") + answer("INFO") + answer("BYE") + `</scenario>
`

// TestOptOutBySIPInfo: the practice side keys *9 by SIP INFO.
func TestOptOutBySIPInfo(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	_, stop, _ := b.startDaemon()
	dir := t.TempDir()
	os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap"))
	uac := strings.NewReplacer("FROM", "201", "KEYS", infoKeys, "CSeq: 2 BYE", "CSeq: 4 BYE").Replace(dtmfScenario)
	os.WriteFile(filepath.Join(dir, "uac.xml"), []byte(uac), 0o644)
	os.WriteFile(filepath.Join(dir, "uas.xml"), []byte(uasInfo), 0o644)
	uasCmd := exec.Command("sipp", "-sf", "uas.xml", "-i", "127.0.0.1", "-p", "5800", "-mi", "127.0.0.1", "-mp", "15800", "-rtp_echo", "-m", "1", "-timeout", "60s", "-nostdin")
	uasCmd.Dir = dir
	if err := uasCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer uasCmd.Process.Kill()
	uacCmd := exec.Command("sipp", "-sf", "uac.xml", "127.0.0.1:5800", "-s", "01632961101", "-i", "127.0.0.1", "-p", "5801", "-mi", "127.0.0.1", "-m", "1", "-timeout", "60s", "-nostdin")
	uacCmd.Dir = dir
	if out, err := uacCmd.CombinedOutput(); err != nil {
		t.Logf("sipp uac: %v\n%s", err, out)
	}
	var call storedCall
	waitFor(t, "the call to end", 20*time.Second, func() bool {
		for _, c := range b.calls() {
			if slices.Contains(c.Numbers, "+441632961101") {
				call = c
			}
		}
		return call.EndReason != ""
	})
	b.checkOptedOut(call.ID)
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}
