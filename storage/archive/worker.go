package archive

import (
	"context"
	"errors"
	"time"

	"callrec/storage/index"
)

// SyncEvery is how often the disk worker makes written chunks durable:
// with a chunk's worth buffered, a power cut loses under a second of audio.
const SyncEvery = 250 * time.Millisecond

// queueLen bounds the operations waiting for the disk: the recording path
// never waits for a sync, only (in a disaster) for room in the queue.
const queueLen = 16384

// Run is the disk worker: it runs the recording path's vault and index
// writes in order, off the capture goroutine, and syncs every recording
// with unsynced chunks together every SyncEvery (group commit: one sync
// per file per interval instead of one per chunk, on the disk's single
// queue). It returns when ctx is done, after every operation queued
// before then has run. Without a running worker, operations run inline.
func (a *Archive) Run(ctx context.Context) error {
	a.wmu.Lock()
	if a.ops != nil {
		a.wmu.Unlock()
		return errors.New("archive: the disk worker is already running")
	}
	ch := make(chan op, queueLen)
	a.ops = ch
	a.wmu.Unlock()

	tick := time.NewTicker(SyncEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case op := <-ch:
			a.exec(op, false)
		case <-tick.C:
			a.runMu.Lock()
			a.flushCalls()
			a.syncDirty()
			a.runMu.Unlock()
			a.beat.Store(time.Now().UnixNano())
		case <-ctx.Done():
		}
	}
	a.stop(ch)
	return nil
}

// WorkerAlive is when the disk worker last finished a round of syncs (it
// does one every SyncEvery): a worker stuck on a dead disk stops beating,
// and the watchdog should notice. Zero before it runs.
func (a *Archive) WorkerAlive() time.Time {
	n := a.beat.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// stop ends the worker: senders blocked on a full queue are served while
// it waits for them, then what is queued runs and later operations run
// inline, so operations keep their order.
func (a *Archive) stop(ch chan op) {
	quit, helped := make(chan struct{}), make(chan struct{})
	go func() { // exits when quit is closed
		defer close(helped)
		for {
			select {
			case op := <-ch:
				a.exec(op, false)
			case <-quit:
				return
			}
		}
	}()
	a.wmu.Lock() // no sender is queueing from here on
	close(quit)
	<-helped
	for drained := false; !drained; {
		select {
		case op := <-ch:
			a.exec(op, false)
		default:
			drained = true
		}
	}
	a.runMu.Lock()
	a.flushCalls()
	a.syncDirty()
	a.runMu.Unlock()
	a.ops = nil
	a.wmu.Unlock()
}

// op is one disk operation: a function, or a call's record to save, which
// is batched with the others queued (see flushCalls).
type op struct {
	fn   func()
	save *index.Record
}

// do queues a disk operation for the worker, or runs it now when no
// worker runs (a command-line tool, a test).
func (a *Archive) do(fn func()) { a.queue(op{fn: fn}) }

func (a *Archive) queue(o op) {
	a.wmu.RLock()
	if ch := a.ops; ch != nil {
		ch <- o
		a.wmu.RUnlock()
		return
	}
	a.wmu.RUnlock()
	a.exec(o, true)
}

// maxBatch bounds the records saved in one index transaction.
const maxBatch = 1024

// exec runs one operation; inline (no worker), it also makes its writes
// durable at once. Records to save gather until another operation, the
// sync tick or maxBatch, and go to the index in one transaction: a burst
// of calls (a flood of attempts) costs one write per tick, not one each.
func (a *Archive) exec(o op, inline bool) {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	if o.save != nil {
		a.pending = append(a.pending, o.save)
		if inline || len(a.pending) >= maxBatch {
			a.flushCalls()
		}
		if inline {
			a.syncDirty()
		}
		return
	}
	a.flushCalls() // what was queued before it, first
	o.fn()
	if inline {
		a.syncDirty()
	}
}

// flushCalls saves the gathered records. The caller holds runMu.
func (a *Archive) flushCalls() {
	if len(a.pending) == 0 {
		return
	}
	for _, r := range a.pending {
		if f, ok := a.early[r.ID]; ok {
			r.Flags = mergeFlags(r.Flags, f)
			delete(a.early, r.ID)
		}
	}
	if err := a.index.Save(a.pending...); err != nil {
		a.log.Error("index not updated", "calls", len(a.pending), "err", err)
	}
	for _, r := range a.pending {
		if r.Recording.State.HasAudio() {
			a.metaDirty[r.ID] = true // what the call's end added: its end, its parties
		}
	}
	clear(a.pending)
	a.pending = a.pending[:0]
}

// syncDirty syncs every recording written since the last sync, and
// writes the metadata of each recorded call changed since: once per
// interval, however many times the call changed in it (a call's end
// changes it three times). The caller holds runMu.
func (a *Archive) syncDirty() {
	for w := range a.dirty {
		if err := w.w.Sync(); err != nil {
			w.fail(err)
		}
		delete(a.dirty, w)
	}
	for id := range a.metaDirty {
		a.saveMeta(id)
		delete(a.metaDirty, id)
	}
}

// Wait returns when every disk operation queued so far has run.
func (a *Archive) Wait() {
	done := make(chan struct{})
	a.do(func() { close(done) })
	<-done
}

// queued returns the worker's queue, or nil when none runs.
func (a *Archive) queued() chan op {
	a.wmu.RLock()
	defer a.wmu.RUnlock()
	return a.ops
}
