package web

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"callrec/storage/archive"
)

// The waveform of a recording is drawn on the box, from the MP3 decoded
// (github.com/hajimehoshi/go-mp3), as an SVG of both channels: the outside
// party above, the practice below. Once drawn it is kept in memory, by
// call and recording hash, so a call played again is not decoded again.

const (
	waveColumns = 600
	waveHeight  = 60 // each channel
	waveKept    = 64 // waveforms kept
)

type waveCache struct {
	mu    sync.Mutex
	svg   map[string][]byte
	order []string
}

// get returns the waveform of a call, drawing it from open's audio if it
// is not cached.
func (c *waveCache) get(id string, open func() (*archive.Audio, error)) ([]byte, error) {
	au, err := open()
	if err != nil {
		return nil, err
	}
	defer au.Close()
	key := id + "/" + au.Record.Recording.SHA256
	if au.Partial || au.Record.Recording.SHA256 == "" {
		key = "" // being written: draw it afresh each time
	}
	c.mu.Lock()
	svg, ok := c.svg[key]
	c.mu.Unlock()
	if ok && key != "" {
		return svg, nil
	}
	peaks, err := decodePeaks(au, waveColumns)
	if err != nil {
		return nil, fmt.Errorf("web: waveform %s: %w", id, err)
	}
	svg = drawWave(peaks)
	if key != "" {
		c.mu.Lock()
		if c.svg == nil {
			c.svg = map[string][]byte{}
		}
		c.svg[key] = svg
		c.order = append(c.order, key)
		if len(c.order) > waveKept {
			delete(c.svg, c.order[0])
			c.order = c.order[1:]
		}
		c.mu.Unlock()
	}
	return svg, nil
}

// decodePeaks decodes an MP3 and returns, for each of n columns, the
// loudest sample of each channel (0–1).
func decodePeaks(r io.ReadSeeker, n int) ([][2]float64, error) {
	d, err := gomp3.NewDecoder(r)
	if err != nil {
		return nil, err
	}
	frames := d.Length() / 4 // 16-bit stereo out
	if frames <= 0 {
		return nil, fmt.Errorf("no audio")
	}
	peaks := make([][2]float64, n)
	buf := make([]byte, 16<<10)
	var at int64
	for {
		m, err := io.ReadFull(d, buf)
		for i := 0; i+3 < m; i += 4 {
			col := int(at * int64(n) / frames)
			if col >= n {
				col = n - 1
			}
			for ch := range 2 {
				v := float64(int16(uint16(buf[i+2*ch])|uint16(buf[i+2*ch+1])<<8)) / 32768
				if v < 0 {
					v = -v
				}
				peaks[col][ch] = max(peaks[col][ch], v)
			}
			at++
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return peaks, nil
		}
		if err != nil {
			return peaks, err
		}
	}
}

// drawWave draws the peaks as two mirrored bands; the page scales it to
// its width.
func drawWave(peaks [][2]float64) []byte {
	var b bytes.Buffer
	h := 2 * waveHeight
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="Waveform: the outside party above, the practice below">`, len(peaks), h+4)
	for ch, colour := range []string{"#1d4f91", "#7a3b00"} {
		mid := float64(waveHeight/2 + ch*(waveHeight+4))
		fmt.Fprintf(&b, `<path fill="%s" d="`, colour)
		for x, p := range peaks {
			a := max(p[ch]*float64(waveHeight)/2, 0.5)
			fmt.Fprintf(&b, "M%d %.1fv%.1fh1v%.1fz", x, mid-a, 2*a, -2*a)
		}
		b.WriteString(`"/>`)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}
