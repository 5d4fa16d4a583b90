package app

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/mcpshare/mcpshare/app/gateway"
)

// MCP Share as a client known by its client ID metadata document (CIMD,
// draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25 puts it
// before dynamic registration): when it shares on a fixed https public
// URL, it serves a document there that describes it as an OAuth client,
// and signs in to remote servers whose authorization server takes such
// documents with that URL as its client_id. Nothing is registered at the
// authorization server, and nothing is left behind there.

// ClientMetadataPath is where the document is served on the public origin.
const ClientMetadataPath = "/oauth-client/metadata.json"

// clientMetadataURL is MCP Share's client_id as a CIMD client, or "": the
// document's URL on the public origin, when that origin is https, fixed in
// the settings (a custom URL, or a reserved ngrok domain: a random ngrok URL
// would change the client, and void its tokens, with every start) and up.
func (a *App) clientMetadataURL() string {
	origin := a.fixedPublicOrigin()
	if origin == "" || !strings.HasPrefix(origin, "https://") || a.Status().PublicOrigin != origin {
		return ""
	}
	return origin + ClientMetadataPath
}

// fixedPublicOrigin is the public origin the settings fix, or "".
func (a *App) fixedPublicOrigin() string {
	st := a.Settings()
	switch {
	case st.Tunnel == TunnelCustom && st.PublicURL != "":
		return strings.TrimSuffix(st.PublicURL, "/")
	case st.Tunnel == TunnelNgrok && st.NgrokDomain != "":
		return "https://" + st.NgrokDomain
	}
	return ""
}

// clientMetadata is the document: its client_id is the URL it is served
// at, byte for byte; the browser comes back to the local listener, the
// only redirect URI (a loopback one, as for native apps, RFC 8252).
func (a *App) clientMetadata() (map[string]any, bool) {
	id := a.clientMetadataURL()
	st := a.Status()
	if id == "" || st.LocalOrigin == "" {
		return nil, false
	}
	return map[string]any{
		"client_id":                  id,
		"client_name":                "MCP Share",
		"redirect_uris":              []string{loopbackRedirect(st.LocalOrigin)},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
		"software_id":                "mcpshare",
		"software_version":           gateway.Version,
	}, true
}

// serveClientMetadata serves the document on the public origin it names;
// elsewhere (the local listener, a public URL that is not fixed) there is
// none.
func (a *App) serveClientMetadata(w http.ResponseWriter, r *http.Request) {
	doc, ok := a.clientMetadata()
	if !ok || r.URL.Path != ClientMetadataPath || doc["client_id"] != "https://"+r.Host+ClientMetadataPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=86400") // authorization servers may fetch it again at each refresh
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodHead {
		return
	}
	json.NewEncoder(w).Encode(doc)
}
