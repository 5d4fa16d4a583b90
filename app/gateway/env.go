package gateway

import (
	"runtime"
	"sort"
	"strings"
)

// baseEnvKeys are the variables of the app's own environment that a child
// inherits: enough to find programs, a home, a locale and a temp directory.
// Everything else (tokens, cloud credentials, ...) stays out unless the
// server's configuration names it.
var baseEnvKeys = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "LANG": true,
	"TMPDIR": true, "TEMP": true, "TMP": true, "TZ": true,
}

// windowsEnvKeys are needed on Windows for programs (and npx) to run at all.
var windowsEnvKeys = map[string]bool{
	"SYSTEMROOT": true, "SYSTEMDRIVE": true, "WINDIR": true, "COMSPEC": true,
	"PATHEXT": true, "USERPROFILE": true, "APPDATA": true, "LOCALAPPDATA": true,
	"USERNAME": true, "PROGRAMFILES": true,
}

// childEnv builds the environment of a child process from the app's
// environment (parent, as from os.Environ) and the configured variables,
// which win over the base.
func childEnv(parent []string, cfg map[string]string) []string {
	windows := runtime.GOOS == "windows"
	seen := map[string]bool{}
	var env []string
	norm := func(k string) string {
		if windows {
			return strings.ToUpper(k)
		}
		return k
	}
	for k := range cfg {
		seen[norm(k)] = true
	}
	for _, kv := range parent {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || seen[norm(k)] {
			continue
		}
		if inherited(k, windows) {
			seen[norm(k)] = true
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+cfg[k])
	}
	return env
}

// inherited reports whether the app's variable k is passed to children.
// Names are case-insensitive on Windows only.
func inherited(k string, windows bool) bool {
	if windows {
		uk := strings.ToUpper(k)
		return baseEnvKeys[uk] || windowsEnvKeys[uk] || strings.HasPrefix(uk, "LC_")
	}
	return baseEnvKeys[k] || strings.HasPrefix(k, "LC_")
}
