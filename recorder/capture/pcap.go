package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapReader reads the classic pcap format (microsecond or nanosecond,
// either byte order). It is more forgiving than a strict reader, because
// real captures are messy: a record whose captured length exceeds its
// original length (seen in the wild) is kept, and only a record too long to
// be a packet, which leaves no way to find the next one, stops the file.
type pcapReader struct {
	r     io.Reader
	order binary.ByteOrder
	nano  bool
	link  layers.LinkType
	hdr   [16]byte
	buf   []byte
	n     int64 // records read, for error messages
}

const maxRecord = 256 << 10

func newPcapReader(r io.Reader) (*pcapReader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("pcap: file header: %w", err)
	}
	p := &pcapReader{r: r, buf: make([]byte, 0, 2048)}
	switch string(h[:4]) {
	case "\xd4\xc3\xb2\xa1":
		p.order = binary.LittleEndian
	case "\xa1\xb2\xc3\xd4":
		p.order = binary.BigEndian
	case "\x4d\x3c\xb2\xa1":
		p.order, p.nano = binary.LittleEndian, true
	case "\xa1\xb2\x3c\x4d":
		p.order, p.nano = binary.BigEndian, true
	default:
		return nil, ErrNotCapture
	}
	// The link type's low 16 bits; the upper bits may carry FCS flags.
	p.link = layers.LinkType(p.order.Uint32(h[20:]) & 0xffff)
	return p, nil
}

func (p *pcapReader) LinkType() layers.LinkType { return p.link }

// ReadPacketData returns the next record; the data is valid until the next
// call. A file cut off inside a record gives io.ErrUnexpectedEOF.
func (p *pcapReader) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ci, fmt.Errorf("pcap: record %d: truncated header: %w", p.n+1, err)
		}
		return nil, ci, err
	}
	p.n++
	sec, frac := p.order.Uint32(p.hdr[0:]), p.order.Uint32(p.hdr[4:])
	capLen, origLen := p.order.Uint32(p.hdr[8:]), p.order.Uint32(p.hdr[12:])
	if capLen > maxRecord {
		return nil, ci, fmt.Errorf("pcap: record %d: captured length %d is not a packet (file corrupt)", p.n, capLen)
	}
	if cap(p.buf) < int(capLen) {
		p.buf = make([]byte, capLen)
	}
	p.buf = p.buf[:capLen]
	if _, err := io.ReadFull(p.r, p.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, fmt.Errorf("pcap: record %d: truncated data: %w", p.n, err)
	}
	nsec := int64(frac) * 1000
	if p.nano {
		nsec = int64(frac)
	}
	ci.Timestamp = time.Unix(int64(sec), nsec)
	ci.CaptureLength = int(capLen)
	ci.Length = int(max(origLen, capLen))
	return p.buf, ci, nil
}
