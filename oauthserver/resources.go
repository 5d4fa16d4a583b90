package oauthserver

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// AllServers is the name of the all-servers resource <origin>/mcp: one MCP endpoint through
// which a user reaches every shared server. It is a protected resource whenever at least one
// server is shared, and the resource of every request that names none.
const AllServers = ""

// resourceURL is the protected resource of a shared server on origin, or <origin>/mcp for
// AllServers. It is the audience of the tokens issued for it, byte for byte.
func resourceURL(origin, name string) string {
	if name == AllServers {
		return origin + "/mcp"
	}
	return origin + "/mcp/" + name
}

// prmURL is the path-inserted metadata URL of a resource (RFC 9728 §3.1).
func prmURL(origin, name string) string {
	return origin + "/.well-known/oauth-protected-resource" + strings.TrimPrefix(resourceURL(origin, name), origin)
}

// isShared reports whether name is a protected resource right now: a shared server, or
// AllServers while at least one server is shared.
func (s *Server) isShared(name string) bool {
	names := s.resources()
	if name == AllServers {
		return len(names) > 0
	}
	return slices.Contains(names, name)
}

// userMayUse reports whether user may use the resource name under the owner's rules
// (Config.MayUse); AllServers is every user's.
func (s *Server) userMayUse(user, name string) bool {
	return name == AllServers || s.mayUse == nil || s.mayUse(user, name)
}

// nameOfResource is the server name of a resource URL issued here, or AllServers.
func nameOfResource(resource string) string {
	u, err := url.Parse(resource)
	if err != nil {
		return AllServers
	}
	name, _ := strings.CutPrefix(u.Path, "/mcp/")
	if name == u.Path {
		return AllServers
	}
	return name
}

// requestedResource is the resource rule of /authorize (RFC 8707): no resource means
// AllServers; otherwise it must be the exact URL of AllServers or of a shared server on the
// origin the request came in on. It returns the resource's name.
func (s *Server) requestedResource(origin, resource string) (string, *Error) {
	if len(s.resources()) == 0 {
		return "", oauthErr(http.StatusBadRequest, "invalid_target", "no server is shared right now")
	}
	if resource == "" || resource == resourceURL(origin, AllServers) {
		return AllServers, nil
	}
	name, ok := strings.CutPrefix(resource, origin+"/mcp/")
	if !ok || name == "" || resource != resourceURL(origin, name) || !s.isShared(name) {
		return "", oauthErr(http.StatusBadRequest, "invalid_target", "resource is not a server shared here")
	}
	return name, nil
}

// audienceFor is the resource rule of /token: a token is issued for the resource of its grant,
// or, when the request names one, for that resource if the grant covers it. A grant for
// <origin>/mcp covers every server shared on that origin (RFC 8707 §2.2 lets a client ask
// for less than it was granted); any other grant covers only itself.
func (s *Server) audienceFor(granted, requested string) (string, *Error) {
	if requested == "" || requested == granted {
		return granted, nil
	}
	if origin, ok := strings.CutSuffix(granted, "/mcp"); ok {
		if name, e := s.requestedResource(origin, requested); e == nil && name != AllServers {
			return requested, nil
		}
	}
	return "", oauthErr(http.StatusBadRequest, "invalid_target", "resource is not covered by the authorization")
}

// audienceAccepted reports whether a token issued for audience may be used at the resource
// name on origin: its own resource, or any shared server for a token of <origin>/mcp (which
// reaches every server already, so this grants nothing new). Tokens of one server never open
// another, nor the all-servers endpoint; tokens of another origin never open anything here.
func audienceAccepted(audience, origin, name string) bool {
	return audience == resourceURL(origin, name) ||
		(name != AllServers && audience == resourceURL(origin, AllServers))
}
