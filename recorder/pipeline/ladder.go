package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

// Ladder prints every SIP message in src, one line each: time, addresses,
// start line, Call-ID, CSeq, the headers that matter for following calls,
// and the SDP's media lines. It is the technician's ladder diagram in text.
// A capture that breaks part-way is ErrInput, after what was read.
func Ladder(src Source, w io.Writer) error {
	out := bufio.NewWriter(w)
	defer out.Flush()
	dec := capture.NewDecoder(capture.Config{})
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInput, err)
		}
		dec.Decode(src.LinkType(), data, ci.Timestamp, func(d *capture.Datagram) {
			if sip.LooksLikeSIP(d.Payload) {
				ladderLine(out, d)
			}
		})
	}
}

func ladderLine(out io.Writer, d *capture.Datagram) {
	at := d.Time.UTC().Format("15:04:05.000")
	m, err := sip.Parse(d.Payload)
	if err != nil {
		fmt.Fprintf(out, "%s %s > %s unparseable: %v\n", at, d.Src, d.Dst, err)
		return
	}
	first := m.Method + " " + m.RequestURI
	if !m.IsRequest() {
		first = fmt.Sprintf("%d %s", m.Status, m.Reason)
	}
	fmt.Fprintf(out, "%s %s %s > %s %q call-id=%s cseq=%q from=%q to=%q",
		at, d.Proto, d.Src, d.Dst, first, m.Get("call-id"), m.Get("cseq"), m.Get("from"), m.Get("to"))
	for _, h := range []string{"refer-to", "referred-by", "replaces", "event", "p-asserted-identity", "diversion"} {
		if v := m.Get(h); v != "" {
			fmt.Fprintf(out, " %s=%q", h, v)
		}
	}
	if b := m.SDP(); b != nil {
		if s, err := sip.ParseSDP(b); err == nil {
			for _, md := range s.Media {
				fmt.Fprintf(out, " m=%s@%s/%s", md.Type, md.Addr, md.Direction)
			}
		} else {
			fmt.Fprintf(out, " sdp-error=%q", err)
		}
	}
	fmt.Fprintln(out)
}
