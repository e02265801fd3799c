package track

import "time"

// dedup remembers recent message fingerprints for transactionTime, in a
// ring bounded to max entries.
type dedup struct {
	at   map[uint64]time.Time
	ring []uint64
	next int
}

func newDedup(max int) dedup {
	return dedup{at: make(map[uint64]time.Time, max), ring: make([]uint64, max)}
}

// seen records fp and reports whether it was already seen recently.
func (d *dedup) seen(fp uint64, now time.Time) bool {
	if t, ok := d.at[fp]; ok && now.Sub(t) < transactionTime {
		return true
	}
	if old := d.ring[d.next]; old != 0 {
		delete(d.at, old)
	}
	d.ring[d.next] = fp
	d.next = (d.next + 1) % len(d.ring)
	d.at[fp] = now
	return false
}
