// Package vault keeps recordings encrypted on the box's disk: each one in
// its own file, under its own data key wrapped by the key-encryption key,
// as XChaCha20-Poly1305 chunks in the STREAM construction (each chunk
// bound to its file, its position and whether it is the last), so that
// truncation, reordering, swapping and edits are detected, a power cut
// loses only the chunk being written, and deletion is crypto-shredding.
// The format is in docs/vault-format.md.
package vault
