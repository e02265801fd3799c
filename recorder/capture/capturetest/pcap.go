package capturetest

import (
	"encoding/binary"
	"io"
	"time"
)

// Frame is one packet with its capture time.
type Frame struct {
	Time time.Time
	Data []byte
}

// WritePcap writes frames as a classic microsecond pcap file of the given
// link type (1 for Ethernet).
func WritePcap(w io.Writer, link uint32, frames []Frame) error {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], link)
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, f := range frames {
		r := make([]byte, 16, 16+len(f.Data))
		binary.LittleEndian.PutUint32(r, uint32(f.Time.Unix()))
		binary.LittleEndian.PutUint32(r[4:], uint32(f.Time.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(r[8:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint32(r[12:], uint32(len(f.Data)))
		if _, err := w.Write(append(r, f.Data...)); err != nil {
			return err
		}
	}
	return nil
}
