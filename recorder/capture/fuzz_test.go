package capture_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
)

// FuzzDecode feeds arbitrary frames, under every link type, through one
// decoder (so fragment and TCP state carry across frames): nothing may
// panic, and every payload delivered must lie within its frame.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), ct.UDPFrame(a4, b4, []byte("INVITE sip:x SIP/2.0\r\n\r\n")))
	f.Add(uint8(1), tcpFrame(1, ct.ACK, "SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	for _, fr := range ct.Fragments(a6, b6, make([]byte, 2000), 800, 3) {
		f.Add(uint8(1), fr)
	}
	f.Add(uint8(113), append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd}, make([]byte, 48)...))
	dec := capture.NewDecoder(capture.Config{MaxFragSets: 64, MaxTCPFlows: 64, MaxTCPBuffer: 4096})
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeLoop}
	f.Fuzz(func(t *testing.T, link uint8, frame []byte) {
		dec.Decode(links[int(link)%len(links)], frame, time.Unix(1, 0), func(d *capture.Datagram) {
			if len(d.Payload) > 65535 {
				t.Fatalf("payload of %d bytes from a %d-byte frame", len(d.Payload), len(frame))
			}
		})
	})
}

// FuzzReader reads arbitrary bytes as a capture file: it must return
// records or a clear error, never panic or loop.
func FuzzReader(f *testing.F) {
	var good bytes.Buffer
	ct.WritePcap(&good, 1, []ct.Frame{{Time: time.Unix(100, 0), Data: ct.UDPFrame(a4, b4, []byte("x"))}})
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:30])
	f.Add([]byte("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := capture.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("read %d records from %d bytes", i, len(data))
			}
			if _, _, err := src.ReadPacketData(); err != nil {
				if !errors.Is(err, io.EOF) && err.Error() == "" {
					t.Fatal("an error without a message")
				}
				return
			}
		}
	})
}
