package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The supervisors' page in a real browser (headless Chromium, driven by
// chromedp) against `recorderd run`, which records a live SIPp call on
// loopback. Screenshots go to the test's temporary directory, and to
// $SCREENSHOTS when it is set (`make screenshots` refreshes docs/).

const newPassword = "correct horse battery staple"

// webBox is a running daemon with its page's address.
type webBox struct {
	*box
	url  string
	stop func() error
}

func startWebBox(t *testing.T, extra ...string) *webBox {
	needRoot(t)
	needTool(t, "chromium")
	b := newBox(t)
	stderr, stop, _ := b.startDaemon(extra...)
	var url string
	re := regexp.MustCompile(`msg="web page" .*url=(https://\S+)`)
	waitFor(t, "the web page to listen", 10*time.Second, func() bool {
		m := re.FindStringSubmatch(stderr.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	return &webBox{box: b, url: url, stop: stop}
}

// addUser makes an account with `recorderd users add` and returns its
// one-time password: the last line the command prints.
func (w *webBox) addUser(name, role string) string {
	out, err := exec.Command(recorderd, w.args("users", "add", "-name", name, "-role", role)...).Output()
	if err != nil {
		w.t.Fatalf("users add %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// chrome starts headless Chromium at a practice PC's 1366×768.
func chrome(t *testing.T) context.Context {
	path, _ := exec.LookPath("chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.IgnoreCertErrors,
		chromedp.DisableGPU, chromedp.WindowSize(1366, 768), chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	os.WriteFile(filepath.Join(t.TempDir(), name+".png"), png, 0o644)
	if dir := os.Getenv("SCREENSHOTS"); dir != "" {
		os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// signInFirst signs in with a one-time password and changes it.
func signInFirst(t *testing.T, ctx context.Context, url, name, once string) {
	do(t, ctx, "sign in as "+name,
		chromedp.Navigate(url+"signin"),
		chromedp.WaitVisible("#name"),
		chromedp.SendKeys("#name", name),
		chromedp.SendKeys("#password", once),
		chromedp.Click(`main button[type="submit"]`),
		chromedp.WaitVisible("#new"))
	do(t, ctx, "change the one-time password",
		chromedp.SendKeys("#old", once),
		chromedp.SendKeys("#new", newPassword),
		chromedp.SendKeys("#again", newPassword),
		chromedp.Click(`main button[type="submit"]`))
}

func TestWebPageInBrowser(t *testing.T) {
	needTool(t, "sipp")
	needTool(t, "ffmpeg")
	w := startWebBox(t)
	boss := w.addUser("boss", "head_of_ig")
	sup := w.addUser("sup", "supervisor")
	sippCallsTo(t, 5420, 1, "01632960123")
	waitFor(t, "the call to be recorded", 20*time.Second, func() bool {
		cs := w.calls()
		return len(cs) == 1 && cs[0].Recording.State == "complete"
	})
	id := w.calls()[0].ID
	ctx := chrome(t)

	// Sign in with the one-time password, which must be changed first.
	do(t, ctx, "sign-in page", chromedp.Navigate(w.url+"signin"), chromedp.WaitVisible("#name"))
	shot(t, ctx, "signin")
	accessible(t, ctx, "sign-in")

	signInFirst(t, ctx, w.url, "boss", boss)
	do(t, ctx, "the calls page", chromedp.WaitVisible("form.filters"))
	// From the keyboard, the first stop is the link past the header.
	do(t, ctx, "tab", chromedp.Navigate(w.url+"calls"), chromedp.WaitVisible("form.filters"), chromedp.KeyEvent("\t"))
	if cls := eval[string](t, ctx, `document.activeElement.className`); cls != "skip" {
		t.Errorf("the first Tab stops on %q, want the skip link", cls)
	}

	// Search by the number in its national form; open the call.
	do(t, ctx, "search",
		chromedp.SendKeys("#number", "01632 960123"),
		chromedp.Click(`form.filters button[type="submit"]`),
		chromedp.WaitVisible(`a[aria-label^="Open the call"]`))
	if n := eval[int](t, ctx, `document.querySelectorAll('a[aria-label^="Open the call"]').length`); n != 1 {
		t.Fatalf("the search found %d calls, want 1", n)
	}
	shot(t, ctx, "search")
	accessible(t, ctx, "search")
	do(t, ctx, "open the call", chromedp.Click(`a[aria-label^="Open the call"]`), chromedp.WaitVisible("#play-form"))
	if ok := eval[string](t, ctx, `document.getElementById('integrity').textContent`); !strings.Contains(ok, "matches its stored SHA-256") {
		t.Errorf("integrity: %q", ok)
	}

	// Confirm the private setting and a reason, then play.
	do(t, ctx, "private setting and reason", chromedp.Click("#private"), chromedp.Click("#reason-training"))
	shot(t, ctx, "call-before-playing")
	accessible(t, ctx, "call")
	do(t, ctx, "continue to the player", chromedp.Click(`#play-form button[type="submit"]`), chromedp.WaitVisible("#player"))
	eval[bool](t, ctx, `document.getElementById('player').play(), true`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('player').currentTime > 0.5`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the player's currentTime never advanced: %v", err)
	}
	// Seek: a click on the middle of the waveform.
	eval[bool](t, ctx, `document.getElementById('player').pause(), true`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('waveform').complete && document.getElementById('waveform').naturalWidth > 0`)); err != nil {
		t.Fatalf("the waveform was not drawn: %v", err)
	}
	do(t, ctx, "click the waveform", chromedp.Click("#waveform"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(function(p){return Math.abs(p.currentTime - p.duration/2) < p.duration/10})(document.getElementById('player'))`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("a click on the middle of the waveform did not seek there: currentTime %v of %v", eval[float64](t, ctx, `document.getElementById('player').currentTime`), eval[float64](t, ctx, `document.getElementById('player').duration`))
	}
	shot(t, ctx, "call-playing")
	accessible(t, ctx, "call, playing")

	// The Head of IG downloads the MP3; ffmpeg decodes it.
	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "download", chromedp.SendKeys("#dl-reason", "SAR 2026-001"), chromedp.Click(`#download-form button[type="submit"]`))
	var mp3 string
	waitFor(t, "the download", 15*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(dl, "*.mp3"))
		if len(m) == 1 {
			mp3 = m[0]
		}
		return mp3 != ""
	})
	if name := filepath.Base(mp3); !strings.Contains(name, id) || strings.Contains(name, "1632") {
		t.Errorf("download named %q: want the call id and no number", name)
	}
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", mp3, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("ffmpeg does not decode the download: %v\n%s", err, out)
	}

	// The audit log shows each step; the chain verifies.
	do(t, ctx, "audit page", chromedp.Navigate(w.url+"audit"), chromedp.WaitVisible("table.audit"))
	log := eval[string](t, ctx, `document.querySelector('table.audit').textContent`)
	for _, action := range []string{"signin", "password-change", "search", "view", "private-setting", "play", "export"} {
		if !strings.Contains(log, action) {
			t.Errorf("the audit page lacks %q", action)
		}
	}
	do(t, ctx, "verify chain", chromedp.Click(`form[action="/audit/verify"] button`), chromedp.WaitVisible("#verify-result"))
	if res := eval[string](t, ctx, `document.getElementById('verify-result').textContent`); !strings.Contains(res, "The chain holds") {
		t.Errorf("verify: %q", res)
	}
	shot(t, ctx, "audit")
	accessible(t, ctx, "audit")
	do(t, ctx, "users page", chromedp.Navigate(w.url+"users"), chromedp.WaitVisible("#fingerprint"))
	shot(t, ctx, "users")
	accessible(t, ctx, "users")
	do(t, ctx, "status page", chromedp.Navigate(w.url+"status"), chromedp.WaitVisible("#status-live"))
	first := eval[string](t, ctx, `document.querySelector('[data-field="time"]').textContent`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-field="time"]').textContent !== `+jsString(first), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the status page did not update itself (Server-Sent Events): %v", err)
	}
	shot(t, ctx, "status")
	accessible(t, ctx, "status")
	do(t, ctx, "sign out", chromedp.Click(`form.signout button`), chromedp.WaitVisible("#name"))

	// A supervisor has no download, and (access mode "grant", the
	// default) no player without a grant: the call page offers to ask.
	signInFirst(t, ctx, w.url, "sup", sup)
	do(t, ctx, "the supervisor's call page", chromedp.WaitVisible("form.filters"), chromedp.Navigate(w.url+"calls/"+id), chromedp.WaitVisible("#ask-access"))
	if eval[bool](t, ctx, `!!document.getElementById('download-form') || !!document.getElementById('play-form')`) {
		t.Error("the supervisor without a grant is offered the player or a download")
	}
	do(t, ctx, "ask for access", chromedp.Click("#ask-access"), chromedp.WaitVisible("#access-form"),
		chromedp.SendKeys("#acc-purpose", "complaint 12"), chromedp.Click(`#access-form button[type="submit"]`), chromedp.WaitVisible("#grants tbody tr"))
	if got := eval[string](t, ctx, `document.querySelector('#grants tbody tr').textContent`); !strings.Contains(got, id) || !strings.Contains(got, "requested") {
		t.Errorf("the request as listed: %q", got)
	}
	shot(t, ctx, "access")
	accessible(t, ctx, "access")
	if err := w.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// a11yCheck lists what on the page falls short of the WCAG 2.2 AA checks
// a script can make: a form field without a label, an image without alt
// text, text whose contrast with its background is under 4.5:1 (3:1 for
// large text), a page without a language or a main landmark, and
// sideways scrolling at 1366 px.
const a11yCheck = `(function () {
  var bad = [];
  document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(function (el) {
    if (!((el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute('aria-label') || el.closest('label'))) {
      bad.push('unlabelled ' + (el.name || el.id));
    }
  });
  document.querySelectorAll('img').forEach(function (i) { if (!i.hasAttribute('alt')) { bad.push('no alt: ' + i.src); } });
  if (!document.documentElement.lang) { bad.push('no lang'); }
  if (!document.querySelector('main')) { bad.push('no main landmark'); }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) { bad.push('scrolls sideways: ' + document.documentElement.scrollWidth); }
  var rgb = function (c) { var m = c.match(/[0-9.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  var lum = function (c) {
    var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  };
  var background = function (el) {
    for (; el; el = el.parentElement) {
      var c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) { return c; }
    }
    return [255, 255, 255];
  };
  document.querySelectorAll('body *').forEach(function (el) {
    var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim() !== ''; });
    if (!own || el.offsetParent === null) { return; }
    var st = getComputedStyle(el);
    var l1 = lum(rgb(st.color)), l2 = lum(background(el));
    var ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    var large = parseFloat(st.fontSize) >= 24 || (parseFloat(st.fontSize) >= 18.66 && parseInt(st.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) { bad.push('contrast ' + ratio.toFixed(2) + ': ' + el.textContent.trim().slice(0, 30)); }
  });
  return bad.join('; ');
})()`

// accessible checks the page in view with a11yCheck.
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if bad := eval[string](t, ctx, a11yCheck); bad != "" {
		t.Errorf("%s: %s", page, bad)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestIdleWarningInBrowser: with a 30 s idle timeout the page warns, and
// "stay signed in" keeps the session past the moment it would have ended.
func TestIdleWarningInBrowser(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "callrec.toml")
	os.WriteFile(cfg, []byte("[web]\nidle_timeout = \"30s\"\n"), 0o644)
	w := startWebBox(t, "-config", cfg)
	once := w.addUser("boss", "head_of_ig")
	ctx := chrome(t)
	signInFirst(t, ctx, w.url, "boss", once)
	do(t, ctx, "the calls page", chromedp.WaitVisible("form.filters"))
	start := time.Now()
	do(t, ctx, "the idle warning", chromedp.WaitVisible("#idle-warning"))
	if left := eval[int](t, ctx, `parseInt(document.getElementById('idle-count').textContent, 10)`); left < 20 {
		t.Errorf("the warning came %d s before the end, want at least 20", left)
	}
	if focused := eval[string](t, ctx, `document.activeElement.id`); focused != "idle-stay" {
		t.Errorf("focus is on %q, want the stay button", focused)
	}
	shot(t, ctx, "idle-warning")
	accessible(t, ctx, "idle warning")
	do(t, ctx, "stay signed in", chromedp.Click("#idle-stay"), chromedp.WaitNotVisible("#idle-warning"))
	time.Sleep(time.Until(start.Add(31 * time.Second)))
	do(t, ctx, "the page after the first timeout", chromedp.Navigate(w.url+"account"), chromedp.WaitVisible("main h1"))
	if loc := eval[string](t, ctx, `location.pathname`); loc != "/account" {
		t.Errorf("after staying signed in the page went to %s", loc)
	}
}
