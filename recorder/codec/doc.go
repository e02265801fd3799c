// Package codec decodes the audio payloads the recorder meets on the wire
// and brings them to the recording rate. It holds the G.711 µ-law and A-law
// expanders (ITU-T G.711) and a 2x upsampler from 8 kHz to 16 kHz.
package codec
