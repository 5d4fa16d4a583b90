package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// maxNameLen and validName are what ChatGPT accepts as a tool name.
const maxNameLen = 64

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// aggregateEntry is one tool or prompt of one server, to be named on /mcp.
type aggregateEntry struct {
	server, name string
	keep         bool // keeps its own name (the built-in server's search and fetch)
}

// identityNames names entries as their server does (a server's own URL).
func identityNames(entries []aggregateEntry) map[target]string {
	out := make(map[target]string, len(entries))
	for _, e := range entries {
		out[target{e.server, e.name}] = e.name
	}
	return out
}

// aggregateNames names the tools (or prompts) of several servers on /mcp:
// "SERVER_NAME", which is stable when other servers come and go, made valid
// for ChatGPT (^[a-zA-Z0-9_-]{1,64}$) and unique. A name that had to be
// changed to be valid or short enough, or that two entries would share,
// ends in "_" and 8 hex digits of a hash of the server and the original
// name, so it stays the same on every start. The built-in server's search
// and fetch keep their names, which ChatGPT's deep research looks for.
func aggregateNames(entries []aggregateEntry) map[target]string {
	plain := make(map[target]string, len(entries))
	count := map[string]int{}
	for _, e := range entries {
		n := e.name
		if !e.keep {
			n = e.server + "_" + e.name
		}
		plain[target{e.server, e.name}] = n
		count[n]++
	}
	out := make(map[target]string, len(entries))
	for _, e := range entries {
		t := target{e.server, e.name}
		n := plain[t]
		if validName.MatchString(n) && count[n] == 1 {
			out[t] = n
			continue
		}
		out[t] = hashedName(e.server, e.name, n)
	}
	return out
}

// hashedName makes n valid and unique: invalid characters become "_", the
// result is cut to leave room for the hash suffix.
func hashedName(server, name, n string) string {
	sum := sha256.Sum256([]byte(server + "\x00" + name))
	suffix := "_" + hex.EncodeToString(sum[:4])
	var b strings.Builder
	for _, r := range n {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	base := b.String()
	if room := maxNameLen - len(suffix); len(base) > room {
		base = base[:room]
	}
	return base + suffix
}
