//go:build !(linux || freebsd || openbsd || netbsd || dragonfly || darwin || windows)

package app

func systemLoginItem() (loginItem, error) { return nil, ErrAutostartUnsupported }
