package app

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

func systemLoginItem() (loginItem, error) { return runKeyLoginItem{key: windowsRunKey{}}, nil }

// windowsRunKey is HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run.
type windowsRunKey struct{}

var _ runKey = windowsRunKey{}

func (windowsRunKey) open(access uint32) (registry.Key, error) {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKeyPath, access)
	return k, err
}

func (w windowsRunKey) get(name string) (string, bool, error) {
	k, err := w.open(registry.QUERY_VALUE)
	if err != nil {
		return "", false, err
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (w windowsRunKey) set(name, value string) error {
	k, err := w.open(registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	return k.SetStringValue(name, value)
}

func (w windowsRunKey) delete(name string) error {
	k, err := w.open(registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.DeleteValue(name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return err
	}
	return nil
}
