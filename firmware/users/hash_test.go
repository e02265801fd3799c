package users

import (
	"fmt"
	"strings"
	"testing"
)

func TestHashRoundTrip(t *testing.T) {
	h := hashPassword("a long test passphrase")
	if !checkPassword(h, "a long test passphrase") || checkPassword(h, "a long test passphrasf") {
		t.Error("the hash does not check its own password, or checks another")
	}
	if h2 := hashPassword("a long test passphrase"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
}

// FuzzCheckPassword: a stored hash that does not parse, or asks for
// absurd work (a memory or time cost that would stall the box), matches
// nothing and never panics.
func FuzzCheckPassword(f *testing.F) {
	f.Add(hashPassword("x"), "x")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$AAAA$AAAA", "x")
	f.Add("$argon2id$v=19$m=64,t=1,p=0$$", "")
	f.Add("plain", "plain")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		parts := strings.Split(encoded, "$")
		if len(parts) == 6 && strings.Contains(parts[3], "m=") {
			var m, tc uint32
			var p uint8
			if n, _ := sscan(parts[3], &m, &tc, &p); n == 3 && (m > 1<<16 || tc > 3) {
				return // a valid but costly hash: checking it is slow, not wrong
			}
		}
		if checkPassword(encoded, pw) && !strings.HasPrefix(encoded, "$argon2id$") {
			t.Fatalf("%q matched %q", encoded, pw)
		}
	})
}

func sscan(s string, m, t *uint32, p *uint8) (int, error) {
	return fmt.Sscanf(s, "m=%d,t=%d,p=%d", m, t, p)
}
