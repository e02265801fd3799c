// Package retention enforces the recordings' retention period: a purge
// crypto-shreds each recording older than the period, unless it is under
// legal hold, keeps a tombstone for it in the index and writes an audit
// entry. It never deletes anything younger to make room: a full disk is
// a fault, not a reason to break retention.
package retention
