package users_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"callrec/firmware/users"
	"callrec/storage/index"
)

func open(t *testing.T) (*users.Service, *index.Index, *time.Time) {
	t.Helper()
	ix, err := index.Open(filepath.Join(t.TempDir(), "index.db"), index.Options{Key: bytes.Repeat([]byte{3}, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	s := users.New(ix, nil)
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s, ix, &now
}

func actions(t *testing.T, ix *index.Index) string {
	t.Helper()
	log, err := ix.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	var as []string
	for _, e := range log {
		as = append(as, e.Action)
	}
	return strings.Join(as, " ")
}

func TestAddSignInChange(t *testing.T) {
	s, ix, _ := open(t)
	if _, err := s.Add("console", "jo", "admin"); !errors.Is(err, users.ErrBadRole) {
		t.Errorf("Add(role admin) = %v, want ErrBadRole", err)
	}
	if _, err := s.Add("console", "../jo", users.Supervisor); !errors.Is(err, users.ErrBadName) {
		t.Errorf("Add(../jo) = %v, want ErrBadName", err)
	}
	pw, err := s.Add("console", "jo", users.HeadOfIG)
	if err != nil || len(pw) < users.MinPassword {
		t.Fatalf("Add = %q, %v", pw, err)
	}
	if _, err := s.Add("console", "jo", users.Supervisor); !errors.Is(err, users.ErrUserExists) {
		t.Errorf("second Add = %v", err)
	}
	u, err := s.SignIn("jo", pw, "")
	if err != nil || !u.MustChange || u.Role != users.HeadOfIG {
		t.Fatalf("SignIn = %+v, %v; want a head of IG who must change the password", u, err)
	}
	if strings.Contains(u.PasswordHash, pw) || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$") {
		t.Errorf("stored hash %q is not argon2id", u.PasswordHash)
	}
	if err := s.ChangePassword("jo", pw, "short"); !errors.Is(err, users.ErrWeak) {
		t.Errorf("short password = %v, want ErrWeak", err)
	}
	if err := s.ChangePassword("jo", "wrong", "a long new passphrase"); !errors.Is(err, users.ErrSignIn) {
		t.Errorf("wrong old password = %v", err)
	}
	if err := s.ChangePassword("jo", pw, "a long new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn("jo", pw, ""); !errors.Is(err, users.ErrSignIn) {
		t.Errorf("the one-time password still works: %v", err)
	}
	if u, err := s.SignIn("jo", "a long new passphrase", ""); err != nil || u.MustChange {
		t.Errorf("SignIn = %+v, %v", u, err)
	}
	if _, err := s.SignIn("nobody", "whatever", ""); !errors.Is(err, users.ErrSignIn) {
		t.Errorf("unknown user = %v, want the same ErrSignIn", err)
	}
	want := "user-add signin password-change-failed password-change signin-failed signin signin-failed"
	if got := actions(t, ix); got != want {
		t.Errorf("audit = %q\nwant    %q", got, want)
	}
}

// TestLockout: 5 failures lock for 5 minutes, the next 5 for an hour; a
// locked account is refused even with the right password; a success
// clears the count.
func TestLockout(t *testing.T) {
	s, ix, now := open(t)
	pw, _ := s.Add("console", "sam", users.Supervisor)
	fail := func(n int) {
		for range n {
			if _, err := s.SignIn("sam", "not the password", ""); err == nil {
				t.Fatal("a wrong password signed in")
			}
		}
	}
	fail(4)
	if _, err := s.SignIn("sam", pw, ""); err != nil {
		t.Fatalf("4 failures locked the account: %v", err)
	}
	fail(5)
	if _, err := s.SignIn("sam", pw, ""); !errors.Is(err, users.ErrLocked) {
		t.Fatalf("after 5 failures SignIn = %v, want ErrLocked", err)
	}
	*now = now.Add(users.FirstLock + time.Second)
	fail(5)
	*now = now.Add(users.FirstLock + time.Second)
	if _, err := s.SignIn("sam", pw, ""); !errors.Is(err, users.ErrLocked) {
		t.Fatalf("second lockout lasted only 5 minutes: %v", err)
	}
	*now = now.Add(users.NextLock)
	if _, err := s.SignIn("sam", pw, ""); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	if got := strings.Count(actions(t, ix), "signin-locked"); got != 2 {
		t.Errorf("%d lockouts audited, want 2", got)
	}
	if _, err := s.Reset("boss", "sam"); err != nil {
		t.Fatal(err)
	}
}

func TestTOTP(t *testing.T) {
	s, _, now := open(t)
	pw, _ := s.Add("console", "kim", users.Supervisor)
	key, err := s.NewTOTP("kim")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP("kim", key.Secret(), "000000"); err == nil {
		t.Error("a wrong code enabled TOTP")
	}
	code, _ := totp.GenerateCode(key.Secret(), time.Now())
	if err := s.EnableTOTP("kim", key.Secret(), code); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn("kim", pw, ""); !errors.Is(err, users.ErrCodeNeeded) {
		t.Errorf("no code = %v, want ErrCodeNeeded", err)
	}
	if _, err := s.SignIn("kim", pw, "123456x"); !errors.Is(err, users.ErrSignIn) {
		t.Errorf("wrong code = %v, want ErrSignIn", err)
	}
	code, _ = totp.GenerateCode(key.Secret(), time.Now())
	if _, err := s.SignIn("kim", pw, code); err != nil {
		t.Errorf("right code = %v", err)
	}
	_ = now
	if s.TOTPRequired() {
		t.Error("TOTP required by default")
	}
	s.RequireTOTP("boss", true)
	if !s.TOTPRequired() {
		t.Error("RequireTOTP did not stick")
	}
}

func TestTokens(t *testing.T) {
	s, ix, _ := open(t)
	s.Add("console", "auditor-kim", users.Auditor)
	tok, err := s.NewToken("console", "auditor-kim")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.ByToken(tok); err != nil || u.Name != "auditor-kim" {
		t.Errorf("ByToken = %+v, %v", u, err)
	}
	if _, err := s.ByToken(tok + "x"); !errors.Is(err, users.ErrTokenRefuse) {
		t.Errorf("altered token = %v", err)
	}
	if err := s.SetDisabled("boss", "auditor-kim", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ByToken(tok); !errors.Is(err, users.ErrTokenRefuse) {
		t.Errorf("a disabled user's token still works: %v", err)
	}
	// Neither the token nor its user's name is in the file in clear.
	b, err := os.ReadFile(ix.File())
	if err != nil || bytes.Contains(b, []byte(tok)) || bytes.Contains(b, []byte("auditor-kim")) {
		t.Errorf("the index file holds the token or the account in clear (%v)", err)
	}
}

func TestState(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for want, u := range map[string]index.User{
		"active":            {},
		"disabled":          {Disabled: true, MustChange: true},
		"one-time password": {MustChange: true},
		"locked until " + now.Add(time.Hour).Local().Format("15:04"): {LockedUntil: now.Add(time.Hour), MustChange: true},
	} {
		if got := users.State(u, now); got != want {
			t.Errorf("State(%+v) = %q, want %q", u, got, want)
		}
	}
}
