//go:build linux || darwin

package childproc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval is how often a supervisor that is ending its group looks whether anything of it
// is left.
const pollInterval = 20 * time.Millisecond

// supervise runs cfg's command in this process's group and ends the group when the app is
// gone, when told to stop, or when the command exits. It returns the exit status for the
// supervisor, unless it re-raised the signal that ended the command.
func supervise(cfg supervisorConfig) int {
	// Pdeathsig (Linux) belongs to the thread that starts the command: keep this goroutine on
	// the main thread, which lives as long as the process.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(cfg.lifeline)
	if err != nil || !isPipe(fd) {
		fmt.Fprintf(os.Stderr, "mcpshare: %s=%q is not the app's pipe; unset it and start again\n", envLifeline, cfg.lifeline)
		return 2
	}
	syscall.CloseOnExec(fd)   // the command must not hold the app's pipe open
	_ = syscall.Setpgid(0, 0) // Command did this already; for a supervisor started by hand
	g := group{pgid: syscall.Getpgrp(), self: os.Getpid()}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	child := &exec.Cmd{
		Path: cfg.path, Args: cfg.args, Env: cfg.env,
		// *os.File: the command gets these very fds, nothing copies its bytes.
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: commandAttr(),
	}
	if err := child.Start(); err != nil {
		return startFailed(cfg.args[0], err)
	}
	releaseStdio()

	exited := make(chan *os.ProcessState, 1)
	go func() {
		_ = child.Wait() // the status is in ProcessState
		exited <- child.ProcessState
	}()
	appGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.NewFile(uintptr(fd), "app pipe")) // nobody writes: this is EOF
		close(appGone)
	}()

	var state *os.ProcessState
	select {
	case state = <-exited:
	case <-appGone:
	case <-stop:
	}
	g.end(cfg.grace)
	if state == nil {
		state = <-exited
	}
	return exitStatus(state, cfg.args[0])
}

// isPipe reports whether fd is an open pipe.
func isPipe(fd int) bool {
	var st syscall.Stat_t
	return syscall.Fstat(fd, &st) == nil && uint32(st.Mode)&syscall.S_IFMT == syscall.S_IFIFO
}

// releaseStdio points the supervisor's own stdin and stdout at /dev/null once the command has
// them, so that the app reads the end of the command's stdout when the command's tree closes
// it, not when the supervisor exits. Stderr stays: the supervisor reports there.
func releaseStdio() {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer null.Close()
	_ = unix.Dup2(int(null.Fd()), 0)
	_ = unix.Dup2(int(null.Fd()), 1)
}

// group is the supervisor's process group: the supervisor (self, its leader), the command and
// the command's descendants.
type group struct {
	pgid, self int
}

// end ends every process of the group but the supervisor: SIGTERM, then up to grace for them
// to exit, then SIGKILL. It returns at once when nothing is left besides the supervisor.
func (g group) end(grace time.Duration) {
	others, err := g.others()
	if err == nil && len(others) == 0 {
		return
	}
	// To the whole group at once, so that a process forking right now is not missed; the
	// supervisor's own SIGTERM lands in its signal channel.
	_ = syscall.Kill(-g.pgid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		time.Sleep(pollInterval)
		if others, err = g.others(); err == nil && len(others) == 0 {
			return
		}
	}
	if err != nil {
		// Without a list of the group, only the whole group can be killed, the supervisor with
		// it: the tree ending matters more than the supervisor's exit status.
		_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
		return
	}
	// SIGKILL cannot be refused; a process being killed can no longer fork, so this ends soon.
	for range int(time.Second / pollInterval) {
		for _, pid := range others {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(pollInterval)
		if others, err = g.others(); err != nil || len(others) == 0 {
			return
		}
	}
}

// others lists the live processes of the group besides the supervisor. Zombies do not count:
// they have ended, and whoever is their parent reaps them.
func (g group) others() ([]int, error) {
	pids, err := groupMembers(g.pgid)
	if err != nil {
		return nil, err
	}
	out := pids[:0]
	for _, pid := range pids {
		if pid != g.self {
			out = append(out, pid)
		}
	}
	return out, nil
}

// exitStatus returns the supervisor's exit status for the command's end. A command ended by
// SIGKILL, SIGTERM, SIGINT or SIGHUP ends the supervisor by the same signal, so the app sees
// the command's own status; for other signals (a crash) the supervisor says which on stderr
// and exits with 128+N, as a shell does, since re-raising those would make the Go runtime print
// a stack trace into the server's log.
func exitStatus(state *os.ProcessState, name string) int {
	if state == nil { // Wait failed without a status: nothing to pass on
		return 1
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return state.ExitCode()
	}
	sig := ws.Signal()
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP:
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Second) // the signal is on its way; this is only a fallback
	}
	fmt.Fprintf(os.Stderr, "mcpshare: %s was ended by signal %d (%v)\n", name, int(sig), sig)
	return 128 + int(sig)
}
