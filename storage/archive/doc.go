// Package archive is the box's recordings as one service: encrypted audio
// in the vault and metadata in the index, written by one disk worker with
// group commit, recovered after a crash, guarded by a free-space reserve,
// and read only through audited operations (search, export, verify, holds,
// key rotation). The daemon, the command line, the web page and the
// console all go through it.
package archive
