package app

import "sort"

// Origin returns the origin the MCP URLs use right now: the public one while
// the tunnel is up, else the local listener's, else the configured address.
// public tells whether ChatGPT and Claude can reach it. Unlike ConnectInfo it
// reads no secret, so the GUI may call it on every refresh.
func (a *App) Origin() (origin string, public bool) {
	st := a.Status()
	switch {
	case st.PublicOrigin != "":
		return st.PublicOrigin, true
	case st.LocalOrigin != "":
		return st.LocalOrigin, false
	default:
		return originOf(a.Settings().Addr), false
	}
}

// MCPURL is the URL of the shared server name on Origin.
func (a *App) MCPURL(name string) string {
	origin, _ := a.Origin()
	return origin + "/mcp/" + name
}

// AllServersURL is the URL of the endpoint that serves every shared server
// at once, on Origin: <origin>/mcp.
func (a *App) AllServersURL() string {
	origin, _ := a.Origin()
	return origin + "/mcp"
}

// EnabledServers lists the names of the servers that are shared, sorted.
func (a *App) EnabledServers() []string {
	names := a.enabledNames()
	sort.Strings(names)
	return names
}

// SecretsInFile tells whether this run keeps its secrets in a file of the
// config directory (--secrets file) rather than the system keychain.
func (a *App) SecretsInFile() bool { return a.opts.Secrets == SecretsFile }
