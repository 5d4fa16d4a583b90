package tunnel

import (
	"errors"
	"testing"
)

func TestTracker(t *testing.T) {
	drop := errors.New("session closed")
	type step struct {
		do   string // "connected", "dropped", "online", "fail", "stop"
		want State  // "" means no status reported
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"retries while connecting, then online", []step{
			{"dropped", StateConnecting}, {"connected", ""}, {"online", StateOnline}, {"connected", ""},
		}},
		{"drop and reconnect", []step{
			{"online", StateOnline}, {"dropped", StateReconnecting}, {"dropped", StateReconnecting},
			{"connected", StateOnline}, {"connected", ""},
		}},
		{"start fails", []step{
			{"dropped", StateConnecting}, {"fail", StateFailed}, {"dropped", ""}, {"connected", ""}, {"fail", ""}, {"stop", StateStopped},
		}},
		{"stop ignores the SDK's own shutdown", []step{
			{"online", StateOnline}, {"stop", StateStopped}, {"dropped", ""}, {"connected", ""}, {"fail", ""}, {"stop", ""},
		}},
		{"online only once, from connecting", []step{
			{"online", StateOnline}, {"online", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr tracker
			if s := tr.connecting(); s.State != StateConnecting {
				t.Fatalf("connecting() = %v", s)
			}
			for i, st := range tt.steps {
				var s Status
				var ok bool
				switch st.do {
				case "connected":
					s, ok = tr.event(true, nil)
				case "dropped":
					s, ok = tr.event(false, drop)
				case "online":
					s, ok = tr.online("https://x.ngrok.app")
				case "fail":
					s, ok = tr.fail(drop)
				case "stop":
					s, ok = tr.stop()
				}
				if got := State(""); ok {
					got = s.State
					if got != st.want {
						t.Fatalf("step %d %s: status %q; want %q", i, st.do, got, st.want)
					}
				} else if st.want != "" {
					t.Fatalf("step %d %s: no status; want %q", i, st.do, st.want)
				}
				if ok && (s.State == StateOnline || s.State == StateReconnecting) && s.URL != "https://x.ngrok.app" {
					t.Errorf("step %d: URL %q", i, s.URL)
				}
				if ok && (s.State == StateReconnecting || s.State == StateFailed) && s.Err == nil {
					t.Errorf("step %d: %s without a reason", i, s.State)
				}
			}
		})
	}
}

func TestStatusQueueKeepsOrderAndAllowsReentry(t *testing.T) {
	got := make(chan State, 10)
	var q statusQueue
	q.fn = func(s Status) {
		got <- s.State
		if s.State == StateConnecting {
			q.push(Status{State: StateStopped}) // as a handler calling Close would
		}
	}
	q.push(Status{State: StateConnecting})
	q.push(Status{State: StateFailed})
	for _, want := range []State{StateConnecting, StateFailed, StateStopped} {
		if s := <-got; s != want {
			t.Fatalf("got %q; want %q", s, want)
		}
	}
}
