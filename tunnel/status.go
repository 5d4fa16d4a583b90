package tunnel

import "sync"

// tracker turns the provider's life and the SDK's events into the Status
// values the GUI shows. It is plain state, guarded by the provider's mutex.
type tracker struct {
	state State
	url   string
}

func (t *tracker) connecting() Status {
	t.state = StateConnecting
	return Status{State: StateConnecting}
}

// online is the endpoint bound by Start.
func (t *tracker) online(url string) (Status, bool) {
	if t.state != StateConnecting {
		return Status{}, false
	}
	t.state, t.url = StateOnline, url
	return Status{State: StateOnline, URL: url}, true
}

// event is an SDK event: connected, or disconnected with err. Before Start
// finishes, a failed attempt is reported as still connecting (the SDK
// retries); its own "connected" is not "online" yet, since the endpoint is
// not bound. Once online, a drop is "reconnecting" and the next connect,
// which the SDK reports after binding the endpoint again, is "online".
func (t *tracker) event(connected bool, err error) (Status, bool) {
	switch t.state {
	case StateConnecting:
		if err != nil {
			return Status{State: StateConnecting, Err: err}, true
		}
	case StateOnline, StateReconnecting:
		if connected {
			if t.state == StateOnline {
				return Status{}, false
			}
			t.state = StateOnline
			return Status{State: StateOnline, URL: t.url}, true
		}
		if err != nil {
			t.state = StateReconnecting
			return Status{State: StateReconnecting, URL: t.url, Err: err}, true
		}
	}
	return Status{}, false
}

// fail is Start giving up.
func (t *tracker) fail(err error) (Status, bool) {
	if t.state == StateStopped || t.state == StateFailed {
		return Status{}, false
	}
	t.state = StateFailed
	return Status{State: StateFailed, Err: err}, true
}

// stop is Close; events after it (the SDK reports its own shutdown) are
// ignored.
func (t *tracker) stop() (Status, bool) {
	if t.state == StateStopped {
		return Status{}, false
	}
	t.state = StateStopped
	return Status{State: StateStopped}, true
}

// statusQueue delivers statuses to fn in order without blocking the caller
// (the SDK's event handlers must not block), on at most one goroutine at a
// time, which exits when the queue is empty.
type statusQueue struct {
	fn      func(Status)
	mu      sync.Mutex
	pending []Status
	running bool
}

func (q *statusQueue) push(s Status) {
	if q.fn == nil {
		return
	}
	q.mu.Lock()
	q.pending = append(q.pending, s)
	if q.running {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	go q.drain()
}

func (q *statusQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		s := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.fn(s)
	}
}
