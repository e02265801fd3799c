package capture

import (
	"net/netip"
	"time"
)

// IP fragment reassembly (RFC 791 section 3.2, RFC 8200 section 4.5),
// bounded in the number of datagrams in progress and in time. Overlapping
// fragments overwrite: a passive tap keeps what it can.

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type fragSet struct {
	key   fragKey
	start time.Time
	buf   []byte
	have  []span // received byte ranges, sorted and merged
	total int    // datagram length once the last fragment is seen, else -1
	done  bool   // completed or dropped; still in the age queue
}

type span struct{ from, to int }

type fragTable struct {
	max     int
	timeout time.Duration
	sets    map[fragKey]*fragSet
	queue   []*fragSet // oldest first, for expiry and eviction
	free    []*fragSet
}

const maxDatagram = 65535

func (t *fragTable) init(cfg Config) {
	t.max, t.timeout = cfg.MaxFragSets, cfg.FragTimeout
	t.sets = make(map[fragKey]*fragSet)
}

// add stores one fragment; when it completes its datagram, add returns the
// whole payload (valid until the next add) and true.
func (t *fragTable) add(k fragKey, offset int, more bool, data []byte, now time.Time, st *Stats) ([]byte, bool) {
	end := offset + len(data)
	if end > maxDatagram || (more && len(data)%8 != 0 && !k.v6) {
		st.Malformed++
		return nil, false
	}
	s := t.sets[k]
	if s == nil {
		if len(t.sets) >= t.max {
			t.evictOldest(st)
		}
		s = t.alloc()
		s.key, s.start, s.total = k, now, -1
		t.sets[k] = s
		t.queue = append(t.queue, s)
	}
	if len(s.buf) < end {
		if cap(s.buf) < end {
			nb := make([]byte, end, max(end, 2*cap(s.buf), 1500))
			copy(nb, s.buf)
			s.buf = nb
		}
		s.buf = s.buf[:end]
	}
	copy(s.buf[offset:end], data)
	s.have = addSpan(s.have, span{offset, end})
	if !more {
		s.total = end
	}
	if s.total < 0 || len(s.have) != 1 || s.have[0].from != 0 || s.have[0].to < s.total {
		return nil, false
	}
	whole := s.buf[:s.total]
	t.release(s)
	return whole, true
}

// addSpan merges n into have, which is sorted and holds no two spans that
// overlap or touch.
func addSpan(have []span, n span) []span {
	i := 0
	for i < len(have) && have[i].to < n.from {
		i++ // entirely before n
	}
	j := i
	for j < len(have) && have[j].from <= n.to {
		n.from, n.to = min(n.from, have[j].from), max(n.to, have[j].to)
		j++ // overlapping or touching: absorbed into n
	}
	if i == j {
		have = append(have, span{})
		copy(have[i+1:], have[i:])
		have[i] = n
		return have
	}
	have[i] = n
	return append(have[:i+1], have[j:]...)
}

func (t *fragTable) alloc() *fragSet {
	if n := len(t.free); n > 0 {
		s := t.free[n-1]
		t.free = t.free[:n-1]
		return s
	}
	return &fragSet{}
}

// release forgets a set; its buffer is reused by a later datagram.
func (t *fragTable) release(s *fragSet) {
	delete(t.sets, s.key)
	s.done = true
}

// expire drops sets older than the timeout and recycles finished ones.
func (t *fragTable) expire(now time.Time, st *Stats) {
	for len(t.queue) > 0 {
		s := t.queue[0]
		if !s.done {
			if now.Sub(s.start) < t.timeout {
				return
			}
			st.FragDropped++
			t.release(s)
		}
		t.queue[0] = nil
		t.queue = t.queue[1:]
		s.buf, s.have, s.done = s.buf[:0], s.have[:0], false
		t.free = append(t.free, s)
	}
	if cap(t.queue) > 4*t.max && len(t.queue) == 0 {
		t.queue = nil
	}
}

func (t *fragTable) evictOldest(st *Stats) {
	for _, s := range t.queue {
		if !s.done {
			st.FragDropped++
			st.FlowsEvicted++
			t.release(s)
			return
		}
	}
}
