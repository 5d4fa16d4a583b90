package oauthserver

import (
	"context"
	"sync"
	"time"
)

// Cache bounds of fetched documents (client metadata, JWK sets).
const (
	MinDocumentTTL     = time.Minute      // refetched at most this often, whatever Cache-Control says
	MaxDocumentTTL     = 24 * time.Hour   // and at least this often
	DefaultDocumentTTL = time.Hour        // when Cache-Control says nothing
	DocumentFailureTTL = 30 * time.Second // a failed fetch is not tried again sooner
	MaxDocumentStale   = 24 * time.Hour   // an expired copy stands in for this long when a refetch fails
	MaxCachedDocuments = 256
)

// docCache keeps parsed documents by URL: fresh ones for their lifetime, a stale one when a
// refetch fails, a failure briefly (so that a bad URL cannot make us fetch on every request).
// Concurrent requests for one URL share one fetch.
type docCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]*docEntry
}

type docEntry struct {
	value       any
	fetched     time.Time
	expires     time.Time
	failedUntil time.Time
	failure     error
	running     chan struct{} // closed when the fetch under way ends
}

func newDocCache(now func() time.Time) *docCache {
	return &docCache{now: now, entries: map[string]*docEntry{}}
}

// loader fetches and parses a document; ttl < 0 means "no cache headers".
type loader func(ctx context.Context) (value any, ttl time.Duration, err error)

// get returns the document at url, fetching it with load when there is no fresh copy. With
// refresh, a copy older than MinDocumentTTL is fetched again (a key set after a signature
// failure: the client may have rotated its keys). allowFetch is asked before any fetch
// (the per-address fetch limit); a refusal is returned as its error.
func (c *docCache) get(ctx context.Context, url string, refresh bool, allowFetch func() error, load loader) (any, error) {
	c.mu.Lock()
	for {
		e := c.entries[url]
		if e != nil && e.running != nil {
			ch := e.running
			c.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			c.mu.Lock()
			continue
		}
		now := c.now()
		if e != nil && e.value != nil && now.Before(e.expires) && !(refresh && now.Sub(e.fetched) >= MinDocumentTTL) {
			v := e.value
			c.mu.Unlock()
			return v, nil
		}
		if e != nil && now.Before(e.failedUntil) {
			v, err := e.stale(now)
			c.mu.Unlock()
			return v, err
		}
		break
	}
	if err := allowFetch(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	e := c.entries[url]
	if e == nil {
		c.makeRoom()
		e = &docEntry{}
		c.entries[url] = e
	}
	e.running = make(chan struct{})
	c.mu.Unlock()

	v, ttl, err := load(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	close(e.running)
	e.running = nil
	now := c.now()
	if err != nil {
		e.failure, e.failedUntil = err, now.Add(DocumentFailureTTL)
		return e.stale(now)
	}
	switch {
	case ttl < 0:
		ttl = DefaultDocumentTTL
	case ttl < MinDocumentTTL:
		ttl = MinDocumentTTL
	case ttl > MaxDocumentTTL:
		ttl = MaxDocumentTTL
	}
	e.value, e.fetched, e.expires, e.failure, e.failedUntil = v, now, now.Add(ttl), nil, time.Time{}
	return v, nil
}

// stale is what a failed entry gives: its last good value while not too old, else the failure.
func (e *docEntry) stale(now time.Time) (any, error) {
	if e.value != nil && now.Before(e.expires.Add(MaxDocumentStale)) {
		return e.value, nil
	}
	return nil, e.failure
}

// makeRoom drops the least recently fetched entry when the cache is full. c.mu is held.
func (c *docCache) makeRoom() {
	if len(c.entries) < MaxCachedDocuments {
		return
	}
	var oldest string
	for u, e := range c.entries {
		if e.running == nil && (oldest == "" || e.fetched.Before(c.entries[oldest].fetched)) {
			oldest = u
		}
	}
	delete(c.entries, oldest)
}
