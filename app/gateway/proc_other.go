//go:build unix && !linux

package gateway

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}
