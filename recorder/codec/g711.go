package codec

// G.711 expansion (ITU-T G.711 Tables 1a and 2a), as 16-bit linear PCM.

var (
	ulawTable [256]int16
	alawTable [256]int16
)

func init() {
	for i := range 256 {
		ulawTable[i] = ulawExpand(byte(i))
		alawTable[i] = alawExpand(byte(i))
	}
}

func ulawExpand(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func alawExpand(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// DecodeULaw appends the linear samples of a µ-law payload to dst.
func DecodeULaw(dst []int16, payload []byte) []int16 {
	for _, b := range payload {
		dst = append(dst, ulawTable[b])
	}
	return dst
}

// DecodeALaw appends the linear samples of an A-law payload to dst.
func DecodeALaw(dst []int16, payload []byte) []int16 {
	for _, b := range payload {
		dst = append(dst, alawTable[b])
	}
	return dst
}
