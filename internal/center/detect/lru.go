package detect

// lru is a map of keys to states kept in order of last use, so that the
// least recently used can be evicted when the map is full and those unused
// for long expired. Not safe for concurrent use.
type lru[V any] struct {
	m          map[string]*lruItem[V]
	head, tail *lruItem[V] // head: most recently used
	max        int
}

type lruItem[V any] struct {
	key        string
	at         int64 // when last used (Unix ns)
	prev, next *lruItem[V]
	v          V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{m: make(map[string]*lruItem[V]), max: max}
}

// get returns the item of key (looked up without allocating), or nil.
func (l *lru[V]) get(key []byte) *lruItem[V] {
	return l.m[string(key)]
}

func (l *lru[V]) getString(key string) *lruItem[V] {
	return l.m[key]
}

// add inserts a new item for key, evicting the least recently used one
// when full; it reports whether it evicted.
func (l *lru[V]) add(key string, at int64) (it *lruItem[V], evicted bool) {
	if len(l.m) >= l.max && l.tail != nil {
		l.remove(l.tail)
		evicted = true
	}
	it = &lruItem[V]{key: key, at: at}
	l.m[key] = it
	l.pushFront(it)
	return it, evicted
}

// touch marks it used at at.
func (l *lru[V]) touch(it *lruItem[V], at int64) {
	it.at = at
	if l.head == it {
		return
	}
	l.unlink(it)
	l.pushFront(it)
}

// expire removes the items last used before cutoff and returns how many.
func (l *lru[V]) expire(cutoff int64) int {
	n := 0
	for l.tail != nil && l.tail.at < cutoff {
		l.remove(l.tail)
		n++
	}
	return n
}

func (l *lru[V]) remove(it *lruItem[V]) {
	l.unlink(it)
	delete(l.m, it.key)
}

func (l *lru[V]) len() int { return len(l.m) }

func (l *lru[V]) pushFront(it *lruItem[V]) {
	it.prev, it.next = nil, l.head
	if l.head != nil {
		l.head.prev = it
	}
	l.head = it
	if l.tail == nil {
		l.tail = it
	}
}

func (l *lru[V]) unlink(it *lruItem[V]) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		l.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		l.tail = it.prev
	}
	it.prev, it.next = nil, nil
}

// each calls fn for every item, most recently used first; fn must not add
// or remove items.
func (l *lru[V]) each(fn func(it *lruItem[V])) {
	for it := l.head; it != nil; it = it.next {
		fn(it)
	}
}
