// Package mix turns each call the tracker follows into one MP3: it keeps
// a timeline per direction (recorder/rtp), reads both a short hold-back
// behind the newest packet, puts the party outside the practice on the
// left and the practice on the right (the caller on the left for internal
// calls), and streams the encoded MP3 to a Sink while the call runs.
package mix
