package childproc

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sZomb is p_stat of a process that has ended and waits to be reaped (<sys/proc.h>).
const sZomb = 5

func selfPath() (string, error) { return os.Executable() }

// commandAttr has nothing to add: macOS has no parent-death signal; KillTree ends the group.
func commandAttr() *syscall.SysProcAttr { return nil }

// groupMembers lists the processes of process group pgid that have not ended.
func groupMembers(pgid int) ([]int, error) {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.pgrp", pgid)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range procs {
		if p.Proc.P_stat != sZomb {
			pids = append(pids, int(p.Proc.P_pid))
		}
	}
	return pids, nil
}
