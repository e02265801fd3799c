package web

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"callrec/firmware/cases"
	"callrec/firmware/users"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// render writes a page inside the layout, with what every page needs.
func (s *Server) render(w http.ResponseWriter, r *http.Request, u *who, code int, page string, data map[string]any) {
	t := s.pages[page]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Page"] = page
	data["Version"] = s.cfg.Version
	data["IdleSeconds"] = int(s.cfg.IdleTimeout.Seconds())
	data["WarnSeconds"] = warnBefore(s.cfg.IdleTimeout)
	if u != nil && u.sess != nil {
		s.sess.with(func() {
			data["User"], data["Role"], data["CSRF"] = u.name, u.role, u.sess.csrf
			data["Early"] = u.sess.mustChange || u.sess.needTOTP
		})
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		s.cfg.Log.Error("web: page not rendered", "page", page, "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// warnBefore is how long before the idle timeout the page warns: a
// minute, and never less than 20 s (WCAG 2.2.1), on a short timeout as
// much as leaves 5 s of quiet first.
func warnBefore(idle time.Duration) int {
	w := min(60*time.Second, idle-5*time.Second)
	return int(max(w, 20*time.Second).Seconds())
}

func (s *Server) home(u *who) string {
	switch {
	case u.sess != nil && u.sess.mustChange:
		return "/password"
	case u.sess != nil && u.sess.needTOTP:
		return "/account"
	case u.role == users.Auditor:
		return "/audit"
	}
	return "/calls"
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, _ *who) error {
	s.render(w, r, nil, http.StatusOK, "signin", map[string]any{"Expired": r.URL.Query().Has("ended")})
	return nil
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, _ *who) error {
	name, pw, code := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password"), r.PostFormValue("code")
	fail := func(msg string) error {
		s.render(w, r, nil, http.StatusUnauthorized, "signin", map[string]any{"Error": msg, "Name": name})
		return nil
	}
	u, err := s.cfg.Users.SignIn(name, pw, code)
	switch {
	case errors.Is(err, users.ErrCodeNeeded):
		return fail("Enter the 6-digit code from your authenticator app, with your password.")
	case errors.Is(err, users.ErrLocked):
		return fail("This account is locked after repeated failed sign-ins. Try again later, or ask the Head of Information Governance to reset it.")
	case errors.Is(err, users.ErrSignIn):
		return fail("The name, password or code is not right.")
	case err != nil:
		return err
	case !slices.Contains(all, u.Role):
		return fail("This account is for the serial console only.")
	}
	now := s.cfg.Now()
	sess := &session{user: u.Name, role: u.Role, created: now, seen: now, mustChange: u.MustChange,
		needTOTP: u.TOTPSecret == "" && s.cfg.Users.TOTPRequired()}
	tok := s.sess.start(sess)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, s.home(&who{role: u.Role, sess: sess}), http.StatusSeeOther)
	return nil
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, u *who) error {
	if u.sess != nil {
		s.sess.end(u.token)
		s.cfg.Archive.Audit(u.name, "signout", u.name, "")
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

func (s *Server) keepAlive(w http.ResponseWriter, _ *http.Request, _ *who) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, u *who) error {
	s.render(w, r, u, http.StatusOK, "password", map[string]any{"Must": u.sess != nil && u.sess.mustChange, "Min": users.MinPassword})
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, u *who) error {
	old, pw, again := r.PostFormValue("old"), r.PostFormValue("new"), r.PostFormValue("again")
	msg := ""
	if pw != again {
		msg = "The two new passwords differ."
	} else {
		msg = passwordProblem(s.cfg.Users.ChangePassword(u.name, old, pw))
	}
	if msg == "?" {
		return errorf(http.StatusInternalServerError, "The password could not be changed.")
	}
	if msg != "" {
		s.render(w, r, u, http.StatusBadRequest, "password", map[string]any{"Error": msg, "Must": u.sess.mustChange, "Min": users.MinPassword})
		return nil
	}
	s.sess.with(func() { u.sess.mustChange = false })
	http.Redirect(w, r, s.home(u)+"?changed=1", http.StatusSeeOther)
	return nil
}

// passwordProblem says what was wrong with a password change ("" for
// nothing, "?" for a failure that is not the user's).
func passwordProblem(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, users.ErrSignIn):
		return "The current password is not right."
	case errors.Is(err, users.ErrWeak):
		return fmt.Sprintf("Choose a new password of at least %d characters, other than your name and your current password.", users.MinPassword)
	}
	return "?"
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, u *who) error {
	acct, err := s.cfg.Users.Get(u.name)
	if err != nil {
		return err
	}
	data := map[string]any{"HasTOTP": acct.TOTPSecret != "", "Required": s.cfg.Users.TOTPRequired(), "Changed": r.URL.Query().Has("changed")}
	if acct.TOTPSecret == "" {
		key, err := s.pendingTOTP(u)
		if err != nil {
			return err
		}
		data["Secret"] = key.Secret()
	}
	s.render(w, r, u, http.StatusOK, "account", data)
	return nil
}

// pendingTOTP is the TOTP key being set up in this session.
func (s *Server) pendingTOTP(u *who) (*otp.Key, error) {
	if u.sess == nil {
		return nil, errForbidden
	}
	var pending string
	s.sess.with(func() { pending = u.sess.totpSecret })
	if pending != "" {
		return otp.NewKeyFromURL(pending)
	}
	key, err := s.cfg.Users.NewTOTP(u.name)
	if err != nil {
		return nil, err
	}
	s.sess.with(func() { u.sess.totpSecret = key.URL() })
	return key, nil
}

func (s *Server) totpImage(w http.ResponseWriter, _ *http.Request, u *who) error {
	key, err := s.pendingTOTP(u)
	if err != nil {
		return err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	return png.Encode(w, img)
}

func (s *Server) enableTOTP(w http.ResponseWriter, r *http.Request, u *who) error {
	key, err := s.pendingTOTP(u)
	if err != nil {
		return err
	}
	if err := s.cfg.Users.EnableTOTP(u.name, key.Secret(), r.PostFormValue("code")); err != nil {
		if errors.Is(err, users.ErrSignIn) {
			s.render(w, r, u, http.StatusBadRequest, "account", map[string]any{"Secret": key.Secret(),
				"Error": "The code does not match. Check the phone's clock, and enter the code shown now."})
			return nil
		}
		return err
	}
	s.sess.with(func() { u.sess.needTOTP, u.sess.totpSecret = false, "" })
	http.Redirect(w, r, s.home(u), http.StatusSeeOther)
	return nil
}

// The reasons a playback may be given, as the audit log records them.
var playReasons = []string{"training", "complaint", "quality", "investigation", "other"}

func (s *Server) play(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	reason := r.PostFormValue("reason")
	other := strings.TrimSpace(r.PostFormValue("other"))
	var private bool
	s.sess.with(func() { private = u.sess.private })
	switch {
	case !private && r.PostFormValue("private") != "yes":
		return errorf(http.StatusBadRequest, "Confirm that you are in a private setting before playing a recording.")
	case !slices.Contains(playReasons, reason):
		return errorf(http.StatusBadRequest, "Choose the reason for playing this recording.")
	case reason == "other" && other == "":
		return errorf(http.StatusBadRequest, "Say what the other reason is.")
	case len(other) > 200:
		return errorf(http.StatusBadRequest, "Keep the reason under 200 characters.")
	}
	if reason == "other" {
		reason = "other: " + other
	}
	rec, err := s.cfg.Archive.Call(archive.Access{Who: u.name, Why: "to play it: " + reason}, id)
	if err != nil {
		return err
	}
	grant := ""
	if s.grantNeeded(u) {
		if s.cfg.Cases == nil {
			return caseErr(cases.ErrNoGrant)
		}
		g, err := s.cfg.Cases.UsePlay(u.name, rec)
		if err != nil {
			return askAccess(id, err)
		}
		grant = g.ID
	}
	if !private {
		if err := s.cfg.Archive.Audit(u.name, "private-setting", id, "confirmed being in a private setting"); err != nil {
			return err
		}
	}
	s.sess.with(func() { u.sess.private, u.sess.plays[id], u.sess.grants[id] = true, reason, grant })
	return backTo(w, r, id, "player")
}

// grantedCall is the call of a request for its audio, and the reason
// given for playing it in this session: without one, the private-setting
// step and a reason come first.
func (s *Server) grantedCall(r *http.Request, u *who) (id, reason string, err error) {
	if id, err = callID(r); err != nil {
		return "", "", err
	}
	var grant string
	s.sess.with(func() { reason, grant = u.sess.plays[id], u.sess.grants[id] })
	if reason == "" {
		return "", "", errorf(http.StatusForbidden, "Confirm your private setting and give a reason on the call's page first.")
	}
	if s.grantNeeded(u) && !s.stillGranted(u, grant) {
		return "", "", askAccess(id, cases.ErrNoGrant)
	}
	return id, reason, nil
}

func (s *Server) audio(w http.ResponseWriter, r *http.Request, u *who) error {
	id, reason, err := s.grantedCall(r, u)
	if err != nil {
		return err
	}
	return s.sendMP3(w, r, u, id, reason, false)
}

// rangeNote names a Range in the audit entry of a play, so seeks read as
// such.
func rangeNote(r *http.Request) string {
	if rg := r.Header.Get("Range"); rg != "" && len(rg) < 100 {
		return " [" + rg + "]"
	}
	return ""
}

func (s *Server) waveform(w http.ResponseWriter, r *http.Request, u *who) error {
	id, reason, err := s.grantedCall(r, u)
	if err != nil {
		return err
	}
	svg, err := s.wave.get(id, func() (*archive.Audio, error) {
		return s.cfg.Archive.Play(archive.Access{Who: u.name, Why: reason + " [waveform]"}, id)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(svg)
	return nil
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || len(reason) > 200 {
		return errorf(http.StatusBadRequest, "Give the reason for the download (a SAR reference, a complaint…), under 200 characters.")
	}
	return s.sendMP3(w, r, u, id, reason, true)
}

// sendMP3 sends a recording: streamed for a player, or as a file to save
// (audited as an export) named by its start and id, never by a number.
func (s *Server) sendMP3(w http.ResponseWriter, r *http.Request, u *who, id, reason string, save bool) error {
	open := s.cfg.Archive.Play
	if save {
		open = s.cfg.Archive.Download
	}
	au, err := open(archive.Access{Who: u.name, Why: reason + rangeNote(r)}, id)
	if err != nil {
		return err
	}
	defer au.Close()
	w.Header().Set("Content-Type", "audio/mpeg")
	if save {
		name := fmt.Sprintf("callrec-%s-%s.mp3", au.Record.Start.UTC().Format("20060102-150405Z"), id)
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	http.ServeContent(w, r, "", time.Time{}, au)
	return nil
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, u *who) error {
	text := strings.TrimSpace(r.PostFormValue("note"))
	if text == "" || len(text) > 2000 {
		return errorf(http.StatusBadRequest, "A note is 1 to 2000 characters.")
	}
	return s.annotate(w, r, u, "note", fmt.Sprintf("%d characters", len(text)), func(a *index.Annotation) {
		a.Notes = append(a.Notes, index.Note{By: u.name, At: s.cfg.Now().UTC(), Text: text})
	})
}

func (s *Server) setTags(w http.ResponseWriter, r *http.Request, u *who) error {
	tags := parseTags(r.PostFormValue("tags"))
	if len(tags) > 20 {
		return errorf(http.StatusBadRequest, "At most 20 tags.")
	}
	return s.annotate(w, r, u, "tags", strings.Join(tags, ","), func(a *index.Annotation) { a.Tags = tags })
}

// annotate changes a call's notes or tags, audits the change (action,
// why) and returns to the call's notes.
func (s *Server) annotate(w http.ResponseWriter, r *http.Request, u *who, action, why string, change func(*index.Annotation)) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Notes.Annotate(id, func(a *index.Annotation) error { change(a); return nil }); err != nil {
		return err
	}
	if err := s.cfg.Archive.Audit(u.name, action, id, why); err != nil {
		return err
	}
	return backTo(w, r, id, "notes")
}

// backTo sends the browser back to a part of a call's page.
func backTo(w http.ResponseWriter, r *http.Request, id, anchor string) error {
	http.Redirect(w, r, "/calls/"+url.PathEscape(id)+"#"+anchor, http.StatusSeeOther)
	return nil
}

// parseTags reads "complaint, billing" as lower-case words, each once.
func parseTags(s string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if len(t) > 40 {
			t = t[:40]
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) hold(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.changeHold(w, r, u, func(acc archive.Access, id string) (index.Hold, error) { return s.cfg.Archive.Hold(acc, id) })
}

func (s *Server) release(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.changeHold(w, r, u, func(acc archive.Access, id string) (index.Hold, error) {
		return s.cfg.Archive.Release(acc, id, r.PostFormValue("hold"))
	})
}

// changeHold places or releases a hold with the form's reason.
func (s *Server) changeHold(w http.ResponseWriter, r *http.Request, u *who, change func(archive.Access, string) (index.Hold, error)) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	if _, err := change(archive.Access{Who: u.name, Why: strings.TrimSpace(r.PostFormValue("reason"))}, id); err != nil {
		return err
	}
	return backTo(w, r, id, "holds")
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.showUsers(w, r, u, http.StatusOK, nil)
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, u *who, code int, data map[string]any) error {
	list, err := s.cfg.Users.List()
	if err != nil {
		return err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Users"], data["Roles"], data["Required"] = list, []string{users.Supervisor, users.Auditor, users.HeadOfIG}, s.cfg.Users.TOTPRequired()
	data["Now"] = s.cfg.Now()
	if s.cfg.Certs != nil {
		data["Fingerprint"] = s.cfg.Certs.Fingerprint()
	}
	if s.cfg.Update != nil {
		data["Firmware"] = s.cfg.Update.Status()
	}
	s.render(w, r, u, code, "users", data)
	return nil
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, u *who) error {
	name, role := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	if role == users.Technician {
		return errorf(http.StatusBadRequest, "Technicians' accounts are made on the box (recorderd users add).")
	}
	pw, err := s.cfg.Users.Add(u.name, name, role)
	switch {
	case errors.Is(err, users.ErrBadName), errors.Is(err, users.ErrBadRole), errors.Is(err, users.ErrUserExists):
		return s.showUsers(w, r, u, http.StatusBadRequest, map[string]any{"Error": strings.TrimPrefix(strings.TrimPrefix(err.Error(), "users: "), "index: ")})
	case err != nil:
		return err
	}
	return s.showUsers(w, r, u, http.StatusOK, map[string]any{"Issued": name, "OneTime": pw})
}

func (s *Server) resetUser(w http.ResponseWriter, r *http.Request, u *who) error {
	name := r.PathValue("name")
	pw, err := s.cfg.Users.Reset(u.name, name)
	if err != nil {
		return userErr(err)
	}
	s.sess.endUser(name)
	return s.showUsers(w, r, u, http.StatusOK, map[string]any{"Issued": name, "OneTime": pw})
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request, u *who) error {
	name := r.PathValue("name")
	if name == u.name {
		return errorf(http.StatusBadRequest, "You cannot disable your own account.")
	}
	if err := s.cfg.Users.SetDisabled(u.name, name, true); err != nil {
		return userErr(err)
	}
	s.sess.endUser(name)
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request, u *who) error {
	if err := s.cfg.Users.SetDisabled(u.name, r.PathValue("name"), false); err != nil {
		return userErr(err)
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

func userErr(err error) error {
	if errors.Is(err, users.ErrNoUser) {
		return errorf(http.StatusNotFound, "No such user.")
	}
	return err
}

func (s *Server) requireTOTP(w http.ResponseWriter, r *http.Request, u *who) error {
	if err := s.cfg.Users.RequireTOTP(u.name, r.PostFormValue("require") == "yes"); err != nil {
		return err
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

func (s *Server) uploadCert(w http.ResponseWriter, r *http.Request, u *who) error {
	read := func(field string) ([]byte, error) {
		f, _, err := r.FormFile(field)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "Choose the %s file.", field)
		}
		defer f.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(f); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	certPEM, err := read("certificate")
	if err != nil {
		return err
	}
	keyPEM, err := read("key")
	if err != nil {
		return err
	}
	if err := s.cfg.Certs.Replace(certPEM, keyPEM, s.cfg.Now()); err != nil {
		return s.showUsers(w, r, u, http.StatusBadRequest, map[string]any{"CertError": strings.TrimPrefix(err.Error(), "web: ")})
	}
	if err := s.cfg.Archive.Audit(u.name, "certificate", s.cfg.Certs.Fingerprint(), "web certificate replaced"); err != nil {
		return err
	}
	return s.showUsers(w, r, u, http.StatusOK, map[string]any{"CertDone": true})
}

// page reads ?page=N (1 and up).
func pageNumber(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 || p > 10000 {
		return 1
	}
	return p
}

// Updater installs signed firmware.
type Updater interface {
	Status() string
	Apply(who, path string) (string, error)
}

// uploadUpdate takes a firmware bundle from the Head of IG: the same
// checks and install as the console's `update apply`; then the box
// reboots into it for a trial boot.
func (s *Server) uploadUpdate(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.Update == nil {
		return errorf(http.StatusNotFound, "This box takes no firmware update (it runs outside the firmware slots).")
	}
	f, _, err := r.FormFile("bundle")
	if err != nil {
		return errorf(http.StatusBadRequest, "Choose the firmware bundle (.zip), under 256 MB.")
	}
	defer f.Close()
	tmp, err := os.CreateTemp("", "callrec-update-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	msg, err := s.cfg.Update.Apply(u.name, tmp.Name())
	if err != nil {
		return s.showUsers(w, r, u, http.StatusBadRequest, map[string]any{"UpdateError": strings.TrimPrefix(err.Error(), "update: ")})
	}
	if s.cfg.Power != nil {
		msg += " The box reboots into it now: this page comes back in a minute."
		go func() { // once the answer is out
			time.Sleep(time.Second)
			s.cfg.Power("reboot")
		}()
	}
	return s.showUsers(w, r, u, http.StatusOK, map[string]any{"UpdateDone": msg})
}
