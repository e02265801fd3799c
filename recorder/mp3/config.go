package mp3

import (
	"fmt"
	"slices"
)

// Config describes the stream an Encoder writes.
type Config struct {
	SampleRate int // Hz: 16000, 22050 or 24000 (MPEG-2); 32000, 44100 or 48000 (MPEG-1)
	Channels   int // 1 or 2
	Bitrate    int // kbit/s, one of the rates the MPEG version allows
}

var (
	mpeg1Rates    = []int{44100, 48000, 32000} // index = sampling_frequency field
	mpeg2Rates    = []int{22050, 24000, 16000}
	mpeg1Bitrates = []int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	mpeg2Bitrates = []int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
)

// format is a validated Config with everything derived from it.
type format struct {
	Config
	mpeg1        bool
	rateIndex    int // sampling_frequency field
	bitrateIndex int // bitrate_index field
	granules     int // granules per frame: 2 (MPEG-1) or 1 (MPEG-2)
	sideInfoLen  int // bytes
	maxMDB       int // largest main_data_begin, bytes
	sfb          *[23]int
}

func (c Config) validate() (format, error) {
	f := format{Config: c}
	if i := slices.Index(mpeg1Rates, c.SampleRate); i >= 0 {
		f.mpeg1, f.rateIndex, f.granules, f.maxMDB = true, i, 2, 511
	} else if i := slices.Index(mpeg2Rates, c.SampleRate); i >= 0 {
		f.rateIndex, f.granules, f.maxMDB = i, 1, 255
	} else {
		return f, fmt.Errorf("mp3: sample rate %d Hz not supported: use 16000, 22050 or 24000 (MPEG-2) or 32000, 44100 or 48000 (MPEG-1)", c.SampleRate)
	}
	if c.Channels != 1 && c.Channels != 2 {
		return f, fmt.Errorf("mp3: %d channels not supported: use 1 or 2", c.Channels)
	}
	rates := mpeg2Bitrates
	if f.mpeg1 {
		rates = mpeg1Bitrates
	}
	f.bitrateIndex = slices.Index(rates, c.Bitrate)
	if f.bitrateIndex <= 0 {
		return f, fmt.Errorf("mp3: bitrate %d kbit/s not allowed at %d Hz: use one of %v", c.Bitrate, c.SampleRate, rates[1:])
	}
	switch {
	case f.mpeg1 && c.Channels == 1:
		f.sideInfoLen = 17
	case f.mpeg1:
		f.sideInfoLen = 32
	case c.Channels == 1:
		f.sideInfoLen = 9
	default:
		f.sideInfoLen = 17
	}
	f.sfb = &sfbLong[boolInt(!f.mpeg1)][f.rateIndex]
	return f, nil
}

// SamplesPerFrame is the number of samples per channel in one frame of
// the stream: 1152 (MPEG-1) or 576 (MPEG-2).
func (c Config) SamplesPerFrame() int {
	if slices.Contains(mpeg1Rates, c.SampleRate) {
		return 1152
	}
	return 576
}

// Frames is the number of frames in a stream of n bytes of this
// configuration (frames with and without padding, as the encoder writes
// them), or 0 for a configuration the encoder does not accept.
func (c Config) Frames(n int64) int64 {
	f, err := c.validate()
	if err != nil {
		return 0
	}
	num, den := f.frameBytes()
	// k frames take floor(k*num/den) bytes (padding spreads the
	// fraction): invert that.
	return (n*int64(den) + int64(num) - 1) / int64(num)
}

// samplesPerFrame is the number of samples per channel in one frame.
func (f *format) samplesPerFrame() int { return 576 * f.granules }

// frameBytes returns the length of a frame without and with padding: the
// slot count is 144*bitrate/rate (MPEG-1) or 72*bitrate/rate (MPEG-2), and
// padding adds one byte where the fraction has accumulated (11172-3 2.4.3.1).
func (f *format) frameBytes() (num, den int) {
	return 144 * 1000 * f.Bitrate / (2 / f.granules), f.SampleRate
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sfbLong are the long-block scalefactor band boundaries (11172-3 Table
// 3-B.8, 13818-3 Table B.2), indexed [MPEG-2][sampling_frequency].
var sfbLong = [2][3][23]int{
	{
		{0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 52, 62, 74, 90, 110, 134, 162, 196, 238, 288, 342, 418, 576},
		{0, 4, 8, 12, 16, 20, 24, 30, 36, 42, 50, 60, 72, 88, 106, 128, 156, 190, 230, 276, 330, 384, 576},
		{0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 54, 66, 82, 102, 126, 156, 194, 240, 296, 364, 448, 550, 576},
	},
	{
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 114, 136, 162, 194, 232, 278, 332, 394, 464, 540, 576},
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
	},
}

// huffTable is one code table in encoding form.
type huffTable struct {
	xlen    int      // x and y range over 0..xlen-1
	linbits int      // extra bits for values of 15 and above
	codes   []uint32 // code words, indexed x*xlen+y (count1: vwxy)
	lens    []uint8  // code lengths in bits; 0 where the table has no code
}
