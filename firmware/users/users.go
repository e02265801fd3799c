// Package users is who may sign in to the box, and as what: accounts and
// their roles, passwords (argon2id), optional TOTP, lockout after failed
// sign-ins, and API tokens for scripts. Accounts are kept in the index
// (sealed under the index key); every change and every sign-in failure is
// audited. The web page, the console and the CLI all go through it.
package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"callrec/storage/index"
)

// The roles. Whatever a role does not name, it may not do.
const (
	HeadOfIG   = "head_of_ig" // appoints users, downloads, holds; sees everything
	Supervisor = "supervisor" // searches and plays, adds notes and tags
	Auditor    = "auditor"    // reads the audit log and the status; no audio, numbers masked
	Technician = "technician" // the serial console only
)

// Roles lists the roles, for forms and checks.
var Roles = []string{HeadOfIG, Supervisor, Auditor, Technician}

// MinPassword is the shortest password accepted, in characters.
const MinPassword = 12

// Lockout: after MaxFailures failed sign-ins in a row the account is
// locked for FirstLock, and after each further run for NextLock.
const (
	MaxFailures = 5
	FirstLock   = 5 * time.Minute
	NextLock    = time.Hour
)

// Errors, checked with errors.Is. A failed sign-in says only
// ErrSignIn (or ErrLocked): which of name, password or code was wrong is
// not told to whoever is trying.
var (
	ErrSignIn      = errors.New("users: the name, password or code is not right")
	ErrLocked      = errors.New("users: the account is locked after repeated failed sign-ins")
	ErrCodeNeeded  = errors.New("users: this account needs its authenticator code")
	ErrWeak        = fmt.Errorf("users: a password needs at least %d characters, and may not be the account's name", MinPassword)
	ErrBadRole     = errors.New("users: no such role (head_of_ig, supervisor, auditor, technician)")
	ErrBadName     = errors.New("users: a name is 1–64 letters, digits, dots, dashes or underscores")
	ErrNoUser      = index.ErrNoUser
	ErrUserExists  = index.ErrUserExists
	ErrTokenRefuse = errors.New("users: the token is not valid")
)

// Store is what the accounts are kept in (the index).
type Store interface {
	AddUser(index.User) error
	User(name string) (index.User, error)
	UpdateUser(name string, change func(*index.User) error) error
	Users() ([]index.User, error)
	PutToken(token string, t index.Token) error
	TokenUser(token string) (index.Token, error)
	DeleteTokens(user string) (int, error)
	Setting(name string, v any) (bool, error)
	PutSetting(name string, v any) error
	Audit(index.Entry) (index.Entry, error)
}

// Service manages the accounts.
type Service struct {
	store Store
	log   *slog.Logger
	// Now is the clock (tests set it).
	Now func() time.Time
	// Issuer names the box in authenticator apps.
	Issuer string
}

// New returns the service over store.
func New(store Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, log: log, Now: time.Now, Issuer: "callrec"}
}

func (s *Service) audit(who, action, target, why string) error {
	if _, err := s.store.Audit(index.Entry{Who: who, Action: action, Target: target, Why: why}); err != nil {
		return fmt.Errorf("users: audit %s: %w", action, err)
	}
	return nil
}

// CheckName refuses names that could not be shown or typed plainly.
func CheckName(name string) error {
	if name == "" || len(name) > 64 {
		return ErrBadName
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return ErrBadName
		}
	}
	return nil
}

// CheckPassword refuses a password too short, or the account's name.
func CheckPassword(name, pw string) error {
	if utf8.RuneCountInString(pw) < MinPassword || strings.EqualFold(strings.TrimSpace(pw), name) {
		return ErrWeak
	}
	return nil
}

// Add makes an account with a one-time password, which it returns: the
// user must change it at the first sign-in. by is who appoints.
func (s *Service) Add(by, name, role string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if !slices.Contains(Roles, role) {
		return "", ErrBadRole
	}
	pw := oneTime()
	u := index.User{Name: name, Role: role, PasswordHash: hashPassword(pw), MustChange: true, Created: s.Now().UTC(), CreatedBy: by}
	if err := s.store.AddUser(u); err != nil {
		return "", err
	}
	if err := s.audit(by, "user-add", name, "role "+role); err != nil {
		return "", err
	}
	s.log.Info("user added", "user", name, "role", role, "by", by)
	return pw, nil
}

// Reset gives an account a new one-time password and lifts its lockout.
func (s *Service) Reset(by, name string) (string, error) {
	pw := oneTime()
	err := s.store.UpdateUser(name, func(u *index.User) error {
		u.PasswordHash, u.MustChange = hashPassword(pw), true
		u.Failures, u.Lockouts, u.LockedUntil = 0, 0, time.Time{}
		return nil
	})
	if err != nil {
		return "", err
	}
	if err := s.audit(by, "user-reset", name, "new one-time password"); err != nil {
		return "", err
	}
	return pw, nil
}

// SetDisabled disables an account (its tokens are revoked) or enables it.
func (s *Service) SetDisabled(by, name string, disabled bool) error {
	err := s.store.UpdateUser(name, func(u *index.User) error { u.Disabled = disabled; return nil })
	if err != nil {
		return err
	}
	action := "user-enable"
	if disabled {
		action = "user-disable"
		if _, err := s.store.DeleteTokens(name); err != nil {
			return err
		}
	}
	return s.audit(by, action, name, "")
}

// List returns every account.
func (s *Service) List() ([]index.User, error) { return s.store.Users() }

// Get returns one account.
func (s *Service) Get(name string) (index.User, error) { return s.store.User(name) }

// SignIn checks a name, password and (when the account has TOTP) code.
// A locked account is refused without its password being tried. Failures
// count towards the lockout and are audited; so is each lockout.
func (s *Service) SignIn(name, password, code string) (index.User, error) {
	now := s.Now().UTC()
	u, err := s.store.User(name)
	if errors.Is(err, index.ErrNoUser) || CheckName(name) != nil {
		checkPassword(dummyHash, password) // the same time as for a real account
		_ = s.audit("(unknown user)", "signin-failed", "", "no such account")
		return index.User{}, ErrSignIn
	}
	if err != nil {
		return index.User{}, err // the store does not read: no
	}
	if now.Before(u.LockedUntil) {
		_ = s.audit(name, "signin-refused", name, "locked until "+u.LockedUntil.Format(time.RFC3339))
		return index.User{}, fmt.Errorf("%w until %s", ErrLocked, u.LockedUntil.Local().Format("15:04"))
	}
	why := ""
	switch {
	case !checkPassword(u.PasswordHash, password):
		why = "wrong password"
	case u.Disabled:
		why = "account disabled"
	case u.TOTPSecret != "" && code == "":
		return index.User{}, ErrCodeNeeded // not a failure: the form asks for the code
	case u.TOTPSecret != "" && !totp.Validate(strings.TrimSpace(code), u.TOTPSecret):
		why = "wrong authenticator code"
	}
	if why != "" {
		var locked time.Time
		err := s.store.UpdateUser(name, func(u *index.User) error {
			u.Failures++
			if u.Failures >= MaxFailures {
				u.Failures = 0
				u.Lockouts++
				u.LockedUntil = now.Add(FirstLock)
				if u.Lockouts > 1 {
					u.LockedUntil = now.Add(NextLock)
				}
				locked = u.LockedUntil
			}
			return nil
		})
		if err != nil {
			return index.User{}, err
		}
		_ = s.audit(name, "signin-failed", name, why)
		if !locked.IsZero() {
			_ = s.audit(name, "signin-locked", name, fmt.Sprintf("%d failures: locked until %s", MaxFailures, locked.Format(time.RFC3339)))
			s.log.Warn("account locked after failed sign-ins", "user", name, "until", locked)
		}
		return index.User{}, ErrSignIn
	}
	err = s.store.UpdateUser(name, func(u *index.User) error {
		u.Failures, u.Lockouts, u.LockedUntil, u.LastSignIn = 0, 0, time.Time{}, now
		return nil
	})
	if err != nil {
		return index.User{}, err
	}
	if err := s.audit(name, "signin", name, u.Role); err != nil {
		return index.User{}, err
	}
	return s.store.User(name)
}

// ChangePassword sets a new password after checking the old one.
func (s *Service) ChangePassword(name, old, pw string) error {
	u, err := s.store.User(name)
	if err != nil {
		return err
	}
	if !checkPassword(u.PasswordHash, old) {
		_ = s.audit(name, "password-change-failed", name, "wrong current password")
		return ErrSignIn
	}
	if err := CheckPassword(name, pw); err != nil {
		return err
	}
	if pw == old {
		return fmt.Errorf("%w: choose a new one", ErrWeak)
	}
	if err := s.store.UpdateUser(name, func(u *index.User) error { u.PasswordHash, u.MustChange = hashPassword(pw), false; return nil }); err != nil {
		return err
	}
	return s.audit(name, "password-change", name, "")
}

// NewTOTP makes a new TOTP secret for an account, to show as a QR code;
// it is stored only once EnableTOTP confirms a code from it.
func (s *Service) NewTOTP(name string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: s.Issuer, AccountName: name})
}

// EnableTOTP stores secret for the account once code shows the
// authenticator has it.
func (s *Service) EnableTOTP(name, secret, code string) error {
	if !totp.Validate(strings.TrimSpace(code), secret) {
		return fmt.Errorf("%w: the code does not match: check the authenticator's clock", ErrSignIn)
	}
	if err := s.store.UpdateUser(name, func(u *index.User) error { u.TOTPSecret = secret; return nil }); err != nil {
		return err
	}
	return s.audit(name, "totp-enable", name, "")
}

const settingRequireTOTP = "require_totp"

// RequireTOTP sets whether every account must use TOTP.
func (s *Service) RequireTOTP(by string, on bool) error {
	if err := s.store.PutSetting(settingRequireTOTP, on); err != nil {
		return err
	}
	return s.audit(by, "require-totp", "", fmt.Sprint(on))
}

// TOTPRequired says whether every account must use TOTP. A setting that
// does not read says yes.
func (s *Service) TOTPRequired() bool {
	var on bool
	if _, err := s.store.Setting(settingRequireTOTP, &on); err != nil {
		return true
	}
	return on
}

// NewToken makes an API token for an account; it is shown once, stored
// only as its keyed hash, and acts with the account's role.
func (s *Service) NewToken(by, name string) (string, error) {
	u, err := s.store.User(name)
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", fmt.Errorf("users: %s is disabled", name)
	}
	var b [32]byte
	rand.Read(b[:])
	tok := "crt_" + base64.RawURLEncoding.EncodeToString(b[:])
	if err := s.store.PutToken(tok, index.Token{User: name, Created: s.Now().UTC()}); err != nil {
		return "", err
	}
	if err := s.audit(by, "token-create", name, ""); err != nil {
		return "", err
	}
	return tok, nil
}

// ByToken returns the account a token acts for. An unknown token, a
// disabled account, or a store that does not read all say no.
func (s *Service) ByToken(tok string) (index.User, error) {
	if !strings.HasPrefix(tok, "crt_") {
		return index.User{}, ErrTokenRefuse
	}
	t, err := s.store.TokenUser(tok)
	if err != nil {
		return index.User{}, ErrTokenRefuse
	}
	u, err := s.store.User(t.User)
	if err != nil || u.Disabled {
		return index.User{}, ErrTokenRefuse
	}
	return u, nil
}

// oneTime makes a one-time password: 20 letters and digits in groups,
// easy to read out and type.
func oneTime() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no 0/o, 1/l/i
	var b strings.Builder
	for i := range 20 {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[randIndex(len(alphabet))])
	}
	return b.String()
}

func randIndex(n int) int {
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < 256/n*n {
			return int(b[0]) % n
		}
	}
}

// argon2id parameters: OWASP's second recommendation (19 MiB, 2 passes),
// which a small ARM box computes in well under a second.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonLen     = 32
)

// hashPassword returns the PHC-style encoding of pw's argon2id hash.
func hashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	h := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(h))
}

var dummyHash = hashPassword("callrec dummy password")

// checkPassword compares pw with an encoded hash in constant time. A hash
// that does not parse matches nothing.
func checkPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<18 || t == 0 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// State says where an account stands, in words, for the list of users:
// disabled, locked (until when), waiting for its one-time password to be
// changed, or active.
func State(u index.User, now time.Time) string {
	switch {
	case u.Disabled:
		return "disabled"
	case now.Before(u.LockedUntil):
		return "locked until " + u.LockedUntil.Local().Format("15:04")
	case u.MustChange:
		return "one-time password"
	}
	return "active"
}
