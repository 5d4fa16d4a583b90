package app

import (
	"sync"
	"time"

	"github.com/mcpshare/mcpshare/oauthserver"
)

// EventKind says what an Event is about.
type EventKind string

// Kinds of events.
const (
	EventState   EventKind = "state"   // sharing started, stopped or failed; Event.Status has the details
	EventSignIn  EventKind = "signin"  // the pending or recent sign-ins changed; Event.Pending lists the pending ones
	EventTunnel  EventKind = "tunnel"  // the public URL's state changed (connecting, online, reconnecting, failed); see Event.Status
	EventServers EventKind = "servers" // a shared server was added, removed, enabled or disabled
	EventWarning EventKind = "warning" // something the user should know that did not stop sharing
	EventCalls   EventKind = "calls"   // the calls waiting for approval changed; Event.Calls lists them
)

// Event is one notification to subscribers: what changed, and the state
// after the change, so that listeners need not ask again.
type Event struct {
	Kind EventKind
	// Message is a sentence for people.
	Message string
	Time    time.Time
	// Status is the status of sharing after the change (EventState, EventTunnel).
	Status Status
	// Pending lists the sign-ins waiting for approval, oldest first (EventSignIn).
	Pending []oauthserver.SignIn
	// Calls lists the calls waiting for approval, oldest first (EventCalls).
	Calls []PendingCall
}

// events fans out notifications to subscribers. Subscribers are called in the
// emitting goroutine, outside the app's locks, and must not block.
type events struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
	// fill adds the state after the change to an event (set by Open).
	fill func(*Event)
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
	if e.fill != nil {
		e.fill(&ev)
	}
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

// fillEvent gives an event the state it announces.
func (a *App) fillEvent(ev *Event) {
	switch ev.Kind {
	case EventState, EventTunnel:
		ev.Status = a.Status()
	case EventSignIn:
		if a.auth != nil {
			ev.Pending = a.auth.PendingSignIns()
		}
	case EventCalls:
		ev.Calls = a.PendingCalls()
	}
}
