package app

import (
	"sync"
	"time"
)

// EventKind says what an Event is about.
type EventKind string

// Kinds of events.
const (
	EventState   EventKind = "state"   // sharing started, stopped or failed; Status() has the details
	EventSignIn  EventKind = "signin"  // the pending or recent sign-ins changed
	EventTunnel  EventKind = "tunnel"  // the public URL's state changed (connecting, online, reconnecting, failed)
	EventServers EventKind = "servers" // a shared server was added, removed, enabled or disabled
	EventWarning EventKind = "warning" // something the user should know that did not stop sharing
)

// Event is one notification to subscribers. Message is a sentence for people.
type Event struct {
	Kind    EventKind
	Message string
	Time    time.Time
}

// events fans out notifications to subscribers. Subscribers are called in the
// emitting goroutine, outside the app's locks, and must not block.
type events struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
}

func (e *events) subscribe(fn func(Event)) (cancel func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs = make(map[int]func(Event))
	}
	id := e.next
	e.next++
	e.subs[id] = fn
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs, id)
	}
}

func (e *events) emit(kind EventKind, msg string) {
	ev := Event{Kind: kind, Message: msg, Time: time.Now()}
	e.mu.Lock()
	fns := make([]func(Event), 0, len(e.subs))
	for _, fn := range e.subs {
		fns = append(fns, fn)
	}
	e.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
