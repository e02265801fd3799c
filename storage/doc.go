// Package storage keeps recordings safe for their retention period: the
// encrypted vault, the bbolt index, retention and the audit log. It imports
// no other layer of ours; cmd/recorderd wires it to the recorder.
package storage
