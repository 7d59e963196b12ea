// Package sizedlru is a least-recently-used cache bounded by its number of
// entries and by the bytes they hold: caches of client-supplied text (queries,
// prepared documents) must stay within a memory bound whatever size of
// entries clients send, which a bound on entries alone does not give.
package sizedlru

import (
	"container/list"
	"sync"
)

// Cache is safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int
	size       func(K, V) int
	order      list.List // front: most recently used
	items      map[K]*list.Element
	bytes      int
}

type entry[K comparable, V any] struct {
	key   K
	value V
	size  int
}

// New returns a cache of at most maxEntries entries and maxBytes bytes, an
// entry weighing size(key, value) (which should include a fixed overhead per
// entry). A bound of 0 or less is no bound.
func New[K comparable, V any](maxEntries, maxBytes int, size func(K, V) int) *Cache[K, V] {
	return &Cache[K, V]{maxEntries: maxEntries, maxBytes: maxBytes, size: size, items: map[K]*list.Element{}}
}

// Get returns key's value and marks it recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).value, true
}

// Add keeps value under key, evicting the least recently used entries until
// both bounds hold. An entry larger than the byte bound on its own is not
// kept (and replaces nothing).
func (c *Cache[K, V]) Add(key K, value V) {
	n := c.size(key, value)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxBytes > 0 && n > c.maxBytes {
		return
	}
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry[K, V])
		c.bytes += n - e.size
		e.value, e.size = value, n
		c.order.MoveToFront(el)
	} else {
		c.items[key] = c.order.PushFront(&entry[K, V]{key: key, value: value, size: n})
		c.bytes += n
	}
	for c.order.Len() > 0 && (c.maxEntries > 0 && c.order.Len() > c.maxEntries || c.maxBytes > 0 && c.bytes > c.maxBytes) {
		oldest := c.order.Back()
		e := oldest.Value.(*entry[K, V])
		c.order.Remove(oldest)
		delete(c.items, e.key)
		c.bytes -= e.size
	}
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Bytes is the weight of the entries.
func (c *Cache[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
