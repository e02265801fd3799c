package track

import (
	"encoding/binary"
	"net/netip"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

// flowPair is one direction of a UDP flow: source, destination.
type flowPair struct{ src, dst netip.AddrPort }

// candidate is a UDP flow that looks like RTP but that no SDP announced.
type candidate struct {
	ssrc  uint32
	seq   uint16
	good  int // packets continuing the sequence
	first time.Time
	last  time.Time
	src   netip.AddrPort // the first packet's sender: the "caller"
}

// candidateThreshold is how many in-sequence packets make a flow RTP.
const candidateThreshold = 4

// candidate watches unannounced RTP-like flows; one that keeps a sequence
// becomes an unsignalled call, so no audio is ever silently lost.
func (t *Tracker) candidate(d *capture.Datagram) {
	p := d.Payload
	pt := p[1] & 0x7f
	if (pt > 34 && pt < 96) || d.Src.Port() < 1024 || d.Dst.Port() < 1024 {
		t.stats.NotRTP++
		return
	}
	key := flowPair{d.Src, d.Dst}
	f := t.flows[key]
	ssrc, seq := binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint16(p[2:])
	if f == nil {
		if len(t.flows) >= t.cfg.MaxCandidates {
			t.dropOldestCandidate()
		}
		t.stats.Candidates++
		t.flows[key] = &candidate{ssrc: ssrc, seq: seq, first: t.now, last: t.now, src: d.Src}
		t.order = append(t.order, key)
		return
	}
	f.last = t.now
	if ssrc == f.ssrc && seq-f.seq >= 1 && seq-f.seq <= 3 {
		f.good++
	}
	f.ssrc, f.seq = ssrc, seq
	if f.good < candidateThreshold {
		return
	}
	delete(t.flows, key)
	back := t.flows[flowPair{d.Dst, d.Src}]
	delete(t.flows, flowPair{d.Dst, d.Src})
	t.unsignalled(f, back, d)
}

// unsignalled makes a call for an unannounced RTP flow; back is the
// candidate of the reverse direction, if it was being watched too.
func (t *Tracker) unsignalled(f, back *candidate, d *capture.Datagram) {
	t.stats.CallsStarted++
	callee := d.Dst
	if d.Dst == f.src {
		callee = d.Src
	}
	c := &Call{
		ID:         newID(),
		Start:      Time{f.first},
		Direction:  Unknown,
		Flags:      []string{"unsignalled", "capture_integrity"},
		Numbers:    []string{},
		SIPCallIDs: []string{},
		state:      stateConfirmed,
		responded:  true,
	}
	c.ConversationID = c.ID
	c.Answered = c.Start
	c.lastActivity = t.now
	l := &Leg{call: c, Caller: f.src, Callee: callee, early: map[string][]mediaOffer{}}
	st := &Stream{leg: l, pts: map[uint8]string{}, CallerAddr: f.src, CalleeAddr: callee, Codecs: []string{}}
	pt := d.Payload[1] & 0x7f
	if sc, ok := sip.StaticCodec(pt); ok {
		st.pts[pt] = sc.Name
		st.Codecs = append(st.Codecs, sc.Name)
	}
	// The packets that proved the flow count too.
	st.CallerToCallee = uint64(f.good + 1)
	if back != nil {
		st.CalleeToCaller = uint64(back.good + 1)
		if back.first.Before(f.first) {
			c.Start, c.Answered = Time{back.first}, Time{back.first}
		}
	}
	l.Media = []*Stream{st}
	c.Legs = []*Leg{l}
	t.media[f.src] = mediaRef{stream: st, receiver: callerSide}
	t.media[callee] = mediaRef{stream: st, receiver: calleeSide}
	t.admit(c)
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c})
	t.emit(Event{Kind: MediaChanged, Time: t.now, Call: c, Stream: st})
}

// dropOldestCandidate forgets the earliest candidate still watched: O(1)
// amortised, so a flood of junk flows costs no more per packet than one.
func (t *Tracker) dropOldestCandidate() {
	for len(t.order) > 0 {
		k := t.order[0]
		t.order = t.order[1:]
		if _, ok := t.flows[k]; ok {
			delete(t.flows, k)
			t.stats.DroppedFlows++
			return
		}
	}
}

// expireCandidates forgets flows that went quiet before proving themselves.
func (t *Tracker) expireCandidates() {
	for k, f := range t.flows {
		if t.now.Sub(f.last) > 5*time.Second {
			delete(t.flows, k)
		}
	}
	// Forget the arrival order of flows no longer watched.
	if len(t.order) > 2*len(t.flows)+64 {
		keep := t.order[:0]
		for _, k := range t.order {
			if _, ok := t.flows[k]; ok {
				keep = append(keep, k)
			}
		}
		t.order = append([]flowPair(nil), keep...)
	}
}
