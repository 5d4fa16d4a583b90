// Package fynelocale keeps Fyne from logging "Fyne error: Error parsing user
// locale C" on every command when the locale is C.UTF-8 (the default of
// many servers, containers and CI images), or another C or POSIX variant
// with an encoding or modifier.
//
// Fyne reads the locale in the init of its lang package and again whenever
// the GUI looks up a font. Its locale library returns exactly "C" and
// "POSIX" as "no locale" but hands "C.UTF-8" on as the language "C", which
// does not parse. In that case this package sets LANGUAGE=en, which the
// library reads first; nothing else in MCP Share reads LANGUAGE, and it is
// not passed to shared servers, whose locale stays the user's.
//
// Import it from main for its side effect only. Its init runs before
// Fyne's: the Go specification (since Go 1.21) initializes packages in
// import path order among those whose imports are initialized, this package
// imports only os, and every path to fyne.io/fyne/v2/lang passes through
// log, whose import path sorts after this one's. It does nothing else.
package fynelocale

import "os"

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	if isPlainC(locale()) {
		os.Setenv("LANGUAGE", "en")
	}
}

// locale is the locale that sets the language of messages, as C programs
// pick it.
func locale() string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// isPlainC tells whether loc is the C or POSIX locale with an encoding or
// modifier ("C.UTF-8", "C.utf8", "POSIX@euro"), which Fyne cannot parse.
// Exactly "C" and "POSIX" it already understands.
func isPlainC(loc string) bool {
	for i, r := range loc {
		if r == '.' || r == '@' {
			return loc[:i] == "C" || loc[:i] == "POSIX"
		}
	}
	return false
}
