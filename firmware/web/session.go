package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"
)

// cookieName uses the __Host- prefix: the browser keeps such a cookie
// only if it is Secure, has Path=/ and no Domain, so nothing else on the
// LAN can plant or widen it.
const cookieName = "__Host-callrec"

// session is one signed-in browser, kept on the box: the cookie holds
// only a random token, and the table is keyed by the token's SHA-256.
type session struct {
	user, role string
	csrf       string
	created    time.Time
	seen       time.Time         // the last request the user made
	mustChange bool              // a one-time password: only the password page until changed
	needTOTP   bool              // TOTP is required and the account has none: only its set-up
	private    bool              // confirmed "I am in a private setting" in this session
	plays      map[string]string // call → the reason given for playing it
	grants     map[string]string // call → the access grant it is played under
	totpSecret string            // a TOTP secret being set up, until confirmed
}

type sessions struct {
	mu        sync.Mutex
	byID      map[string]*session
	idle, max time.Duration // set by the server; sessions past them are pruned at each sign-in
}

func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenKey(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// start makes a new session (a new token every sign-in: a token planted
// before it, session fixation, is never promoted) and returns its token.
func (ss *sessions) start(s *session) string {
	tok := newToken()
	s.csrf = newToken()
	s.plays = map[string]string{}
	s.grants = map[string]string{}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.byID == nil {
		ss.byID = map[string]*session{}
	}
	for k, o := range ss.byID { // sessions nobody came back to
		if s.created.Sub(o.seen) > ss.idle || s.created.Sub(o.created) > ss.max {
			delete(ss.byID, k)
		}
	}
	ss.byID[tokenKey(tok)] = s
	return tok
}

// get returns a live session, or nil; an expired one is removed.
func (ss *sessions) get(tok string, now time.Time, idle, max time.Duration) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	k := tokenKey(tok)
	s := ss.byID[k]
	if s == nil {
		return nil
	}
	if now.Sub(s.seen) > idle || now.Sub(s.created) > max {
		delete(ss.byID, k)
		return nil
	}
	return s
}

func (ss *sessions) end(tok string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, tokenKey(tok))
}

// endUser ends every session of a user (disabled, or password reset).
func (ss *sessions) endUser(name string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, s := range ss.byID {
		if s.user == name {
			delete(ss.byID, k)
		}
	}
}

// with runs fn on a session under the table's lock.
func (ss *sessions) with(fn func()) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	fn()
}
