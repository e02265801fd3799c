// Package index is the box's catalogue of recordings, in a bbolt file:
// each call's metadata, found by time, by extension and by every number
// seen in any of its legs (so a subject access request finds a transfer's
// third party too); legal holds; and the append-only, hash-chained audit
// log of every access, export, deletion, hold, key operation and
// configuration change. Only this package touches bbolt.
package index
