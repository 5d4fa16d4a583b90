package childproc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// selfPath is this process's own executable: exec of /proc/self/exe works even when the file
// was replaced or deleted since the app started (an upgrade while it runs).
func selfPath() (string, error) { return "/proc/self/exe", nil }

// commandAttr asks the kernel to kill the command if the supervisor itself is killed: the
// group is then still ended by KillTree, but the command should not wait for that.
func commandAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// groupMembers lists the processes of process group pgid that have not ended, from /proc.
func groupMembers(pgid int) ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold anything, the last ')' ends it.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 3 || string(f[0]) == "Z" {
			continue
		}
		if pg, err := strconv.Atoi(string(f[2])); err == nil && pg == pgid {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
