//go:build linux || freebsd || openbsd || netbsd || dragonfly

package app

func systemLoginItem() (loginItem, error) { return xdgLoginItem() }
