package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Source is where packets come from: a live interface or a capture file.
// A test replays a file through the same interface the box taps a wire with.
type Source interface {
	// ReadPacketData returns the next frame; io.EOF at the end of a file.
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// ErrNotCapture is returned for a file that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// File is a pcap or pcapng file opened as a Source.
type File struct {
	f *os.File
	Source
}

// OpenFile opens a pcap or pcapng file, telling them apart by their magic
// number.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	src, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %s: %w", path, err)
	}
	return &File{f: f, Source: src}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// NewReader reads a pcap or pcapng stream.
func NewReader(r io.Reader) (Source, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCapture, err)
	}
	switch {
	case string(magic) == "\x0a\x0d\x0d\x0a":
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", err)
		}
		return ngSource{ng}, nil
	}
	switch string(magic) {
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d":
		return newPcapReader(br)
	}
	return nil, ErrNotCapture
}

// ngSource gives a pcapng reader the Source method set.
type ngSource struct{ *pcapgo.NgReader }

// Paced replays a file at the pace it was recorded, as a live tap would
// deliver it: each packet waits until its offset from the first.
type Paced struct {
	Source
	done  <-chan struct{}
	first time.Time
	start time.Time
}

// ErrStopped is returned by a paced replay stopped early.
var ErrStopped = errors.New("capture: replay stopped")

// NewPaced wraps src; the replay stops early (ErrStopped) once done is
// closed (a context's Done channel).
func NewPaced(done <-chan struct{}, src Source) *Paced {
	return &Paced{Source: src, done: done}
}

// ReadPacketData implements Source.
func (p *Paced) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := p.Source.ReadPacketData()
	if err != nil {
		return data, ci, err
	}
	if p.first.IsZero() {
		p.first, p.start = ci.Timestamp, time.Now()
	}
	if wait := ci.Timestamp.Sub(p.first) - time.Since(p.start); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.done:
			t.Stop()
			return nil, ci, ErrStopped
		}
	}
	return data, ci, nil
}
