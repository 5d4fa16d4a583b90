package childproc

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeJobs records the Job Object calls; fail makes the call with that name fail.
type fakeJobs struct {
	calls []string
	fail  string
	next  uintptr
}

func (f *fakeJobs) call(c string) error {
	f.calls = append(f.calls, c)
	if f.fail == c {
		return errors.New("access denied")
	}
	return nil
}

func (f *fakeJobs) newKillOnClose(inheritable bool) (uintptr, error) {
	c := "new"
	if inheritable {
		c = "new inheritable"
	}
	if err := f.call(c); err != nil {
		return 0, err
	}
	f.next++
	return 100 + f.next, nil
}

func (f *fakeJobs) assignSelf(job uintptr) error { return f.call("assign " + name(job)) }
func (f *fakeJobs) closeHandle(h uintptr) error  { return f.call("close " + name(h)) }

// name of the handles: 7 is the app's job as the supervisor inherits it, 101 the first new one.
func name(h uintptr) string {
	switch h {
	case 7:
		return "app"
	case 101:
		return "own"
	}
	return "?"
}

func TestAppJobIsInheritableKillOnClose(t *testing.T) {
	f := &fakeJobs{}
	h, err := newAppJob(f)
	if err != nil || h == 0 {
		t.Fatalf("newAppJob = %d, %v", h, err)
	}
	if want := []string{"new inheritable"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q (the app never joins its own job)", f.calls, want)
	}
}

// The supervisor joins the app's job before dropping its handle to it (so the app's handle is
// the last one), then joins a job of its own, and only then may it start the command.
func TestSupervisorEntersBothJobsInOrder(t *testing.T) {
	f := &fakeJobs{}
	own, err := enterJobs(f, 7)
	if err != nil {
		t.Fatal(err)
	}
	if own != 101 {
		t.Errorf("own job = %d, want the new job 101", own)
	}
	want := []string{"assign app", "close app", "new", "assign own"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
}

func TestSupervisorJobFailures(t *testing.T) {
	tests := []struct {
		fail    string
		calls   []string
		message string
	}{
		// The inherited handle is closed even when joining fails: it must not keep the job open.
		{"assign app", []string{"assign app", "close app"}, "joining the app's job"},
		{"close app", []string{"assign app", "close app"}, "joining the app's job"},
		{"new", []string{"assign app", "close app", "new"}, "creating the server's job"},
		{"assign own", []string{"assign app", "close app", "new", "assign own", "close own"}, "joining the server's job"},
	}
	for _, tt := range tests {
		t.Run(tt.fail, func(t *testing.T) {
			f := &fakeJobs{fail: tt.fail}
			_, err := enterJobs(f, 7)
			if err == nil || !strings.Contains(err.Error(), tt.message) || !strings.Contains(err.Error(), "access denied") {
				t.Errorf("err = %v, want %q and its cause", err, tt.message)
			}
			if !slices.Equal(f.calls, tt.calls) {
				t.Errorf("calls %q, want %q", f.calls, tt.calls)
			}
		})
	}
}
