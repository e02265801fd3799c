// Package extract turns a capture into one MP3 file per call and a
// calls.json describing them: the technician's tool for a capture taken
// elsewhere, recorded exactly as the box would record the same wire. The
// files are not encrypted, so they are created private: 0600, never
// through a symlink, in a directory made 0700.
package extract
