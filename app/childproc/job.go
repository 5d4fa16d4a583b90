package childproc

import (
	"errors"
	"fmt"
)

// jobs is the part of the Windows Job Object API that ties a process tree to the app.
// job_windows.go implements it with golang.org/x/sys/windows; the tests fake it, because the
// order of these calls is what makes the tree die with the app, and this order can be
// checked on any system.
type jobs interface {
	// newKillOnClose creates a job whose processes are all killed when its last handle is
	// closed (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE); an inheritable handle can be passed to a
	// child process.
	newKillOnClose(inheritable bool) (handle uintptr, err error)
	// assignSelf puts the calling process into job; the processes it starts afterwards are
	// born in it.
	assignSelf(job uintptr) error
	closeHandle(h uintptr) error
}

// newAppJob creates the app's job, whose handle the app holds until it ends, and lends to each
// supervisor at its start (see enterJobs). The app itself does not join it.
func newAppJob(j jobs) (uintptr, error) {
	h, err := j.newKillOnClose(true)
	if err != nil {
		return 0, fmt.Errorf("creating the app's job object: %w", err)
	}
	return h, nil
}

// enterJobs is the supervisor's first step on Windows. It joins the app's job and closes the
// handle to it that it inherited, so that the app's handle is the last one: when the app ends,
// however it ends, Windows kills the job's processes. Then it creates a kill-on-close job of
// its own, nested in the app's, and joins it; it keeps that handle until it exits. The command
// and everything it starts are born in both jobs: they die with the app, and with the
// supervisor (the end of the command, or KillTree).
func enterJobs(j jobs, appJob uintptr) (own uintptr, err error) {
	err = j.assignSelf(appJob)
	if cerr := j.closeHandle(appJob); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("joining the app's job object: %w", err)
	}
	own, err = j.newKillOnClose(false)
	if err != nil {
		return 0, fmt.Errorf("creating the server's job object: %w", err)
	}
	if err := j.assignSelf(own); err != nil {
		return 0, errors.Join(fmt.Errorf("joining the server's job object: %w", err), j.closeHandle(own))
	}
	return own, nil
}
