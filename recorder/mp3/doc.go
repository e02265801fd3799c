// Package mp3 is a streaming MPEG-1 and MPEG-2 Audio Layer III encoder,
// written from ISO/IEC 11172-3 and ISO/IEC 13818-3 in pure Go.
//
// It takes interleaved 16-bit PCM and writes constant-bitrate frames to an
// io.Writer as soon as each is complete, using the bit reservoir. Its rate
// control aims at waveform fidelity (segmental SNR) rather than perceptual
// transparency, because the box records speech as evidence. Tables are
// derived from the go-mp3 decoder by internal/gentables.
package mp3

//go:generate go run ./internal/gentables -o tables_gen.go
//go:generate go run ./internal/gendct -o dct32_gen.go
