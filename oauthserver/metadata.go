package oauthserver

import (
	"net/http"
)

// ScopeMCP is the only scope: use of the shared server. It is advertised identically in the
// AS metadata, the protected resource metadata and the 401 challenge.
const ScopeMCP = "mcp"

// authServerMetadata is the RFC 8414 document.
type authServerMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgValues     []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported"`
}

// asMetadata returns the authorization server metadata for an issuer (an allowed origin).
// It advertises client ID metadata documents and private_key_jwt (cimd.go, assertion.go):
// ChatGPT prefers them whenever they are advertised, and Claude uses a document when "none"
// is offered with them. RFC 8414 requires the signing algorithms once private_key_jwt is listed.
func asMetadata(issuer string) authServerMetadata {
	methods := []string{AuthNone, AuthSecretPost, AuthSecretBasic, AuthPrivateKeyJWT}
	var algs []string
	for _, a := range assertionAlgorithms {
		algs = append(algs, string(a))
	}
	return authServerMetadata{
		Issuer:                                     issuer,
		AuthorizationEndpoint:                      issuer + "/authorize",
		TokenEndpoint:                              issuer + "/token",
		RegistrationEndpoint:                       issuer + "/register",
		RevocationEndpoint:                         issuer + "/revoke",
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		TokenEndpointAuthMethodsSupported:          methods,
		TokenEndpointAuthSigningAlgValuesSupported: algs,
		RevocationEndpointAuthMethodsSupported:     methods,
		RevocationEndpointAuthSigningAlgValues:     algs,
		ScopesSupported:                            []string{ScopeMCP},
		AuthorizationResponseIssParameterSupported: true,
		ClientIDMetadataDocumentSupported:          true,
	}
}

// resourceMetadata is the RFC 9728 document.
type resourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// prMetadata is the metadata of the resource name (a shared server, or AllServers) on origin.
func prMetadata(origin, name string) resourceMetadata {
	display := name
	if name == AllServers {
		display = "All shared servers"
	}
	return resourceMetadata{
		Resource:               resourceURL(origin, name),
		AuthorizationServers:   []string{origin},
		ScopesSupported:        []string{ScopeMCP},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           display,
	}
}

func (s *Server) handleASMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, asMetadata(OriginFromContext(r.Context())))
}

// handlePRM serves the metadata of /mcp/{name}; without a name (the path-inserted URL of
// /mcp, and the bare well-known URL) that of AllServers. Resources not shared right now get 404.
func (s *Server) handlePRM(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.isShared(name) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such shared server"})
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, prMetadata(OriginFromContext(r.Context()), name))
}
