package optout

import (
	"slices"
	"sync"

	"callrec/storage/index"
)

// list is a list kept as one sealed setting in the index, held in memory,
// changed under a lock, each change audited. A list that does not read
// stays unreadable (its users fail closed) and cannot be changed.
type list[T any] struct {
	store Settings
	name  string
	mu    sync.RWMutex
	items []T
	err   error
}

func loadList[T any](store Settings, name string) (*list[T], error) {
	l := &list[T]{store: store, name: name}
	if _, err := store.Setting(name, &l.items); err != nil {
		l.err = err
		return l, err
	}
	return l, nil
}

// all returns a copy of the items.
func (l *list[T]) all() []T {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.items)
}

// read runs fn on the items under the read lock; the list's load error,
// if any, comes first.
func (l *list[T]) read(fn func([]T) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.err != nil {
		return l.err
	}
	return fn(l.items)
}

// change replaces the items with fn's, audited (action on target, why),
// stored, then kept.
func (l *list[T]) change(by, action, target, why string, fn func([]T) ([]T, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	items, err := fn(slices.Clone(l.items))
	if err != nil {
		return err
	}
	if _, err := l.store.Audit(index.Entry{Who: by, Action: action, Target: target, Why: why}); err != nil {
		return err
	}
	if err := l.store.PutSetting(l.name, items); err != nil {
		return err
	}
	l.items = items
	return nil
}
