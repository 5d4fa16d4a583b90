package oauthserver

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func getJSONDoc(t *testing.T, method, u, host string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestASMetadata(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	o := e.origin
	algs := []any{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	want := map[string]any{
		"issuer": o, "authorization_endpoint": o + "/authorize", "token_endpoint": o + "/token",
		"registration_endpoint": o + "/register", "revocation_endpoint": o + "/revoke",
		"response_types_supported": []any{"code"}, "response_modes_supported": []any{"query"},
		"grant_types_supported":                                 []any{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":                      []any{"S256"},
		"token_endpoint_auth_methods_supported":                 []any{"none", "client_secret_post", "client_secret_basic", "private_key_jwt"},
		"revocation_endpoint_auth_methods_supported":            []any{"none", "client_secret_post", "client_secret_basic", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported":      algs,
		"revocation_endpoint_auth_signing_alg_values_supported": algs,
		"scopes_supported":                                      []any{"mcp"},
		"authorization_response_iss_parameter_supported":        true,
		"client_id_metadata_document_supported":                 true,
	}
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		resp, got := getJSONDoc(t, "GET", o+path, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", path, got, want)
		}
	}
	// Through the public origin every URL is public.
	e.s.origins.SetPublic("https://pub.example")
	_, got := getJSONDoc(t, "GET", o+"/.well-known/oauth-authorization-server", "pub.example")
	if got["issuer"] != "https://pub.example" || got["token_endpoint"] != "https://pub.example/token" {
		t.Fatalf("public: %v", got)
	}
}

func TestPRM(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files")
	o := e.origin
	doc := func(resource, name string) map[string]any {
		return map[string]any{"resource": resource, "authorization_servers": []any{o},
			"scopes_supported": []any{"mcp"}, "bearer_methods_supported": []any{"header"}, "resource_name": name}
	}
	all := doc(o+"/mcp", "All shared servers")
	for _, one := range [][]string{{"files"}, {"files", "notes"}} {
		e.setResources(one...)
		for path, want := range map[string]map[string]any{
			"/.well-known/oauth-protected-resource/mcp/files": doc(o+"/mcp/files", "files"),
			"/.well-known/oauth-protected-resource/mcp":       all,
			"/.well-known/oauth-protected-resource":           all, // the bare URL is /mcp's, however many are shared
		} {
			resp, got := getJSONDoc(t, "GET", o+path, "")
			if resp.StatusCode != 200 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%v shared, %s: %d %v", one, path, resp.StatusCode, got)
			}
		}
	}
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/.well-known/oauth-protected-resource/mcp/notes", 200},
		{"HEAD", "/.well-known/oauth-protected-resource/mcp/notes", 200},
		{"OPTIONS", "/.well-known/oauth-protected-resource/mcp/notes", 204},
		{"POST", "/.well-known/oauth-protected-resource/mcp/notes", 405},
		{"HEAD", "/.well-known/oauth-protected-resource/mcp", 200},
		{"GET", "/.well-known/oauth-protected-resource/mcp/other", 404},
		{"GET", "/.well-known/oauth-protected-resource/mcp/", 404},
		{"GET", "/.well-known/oauth-authorization-server/mcp/files", 404},
		{"GET", "/.well-known/unknown", 404},
		{"HEAD", "/.well-known/oauth-authorization-server", 200},
	}
	for _, tt := range tests {
		resp, _ := getJSONDoc(t, tt.method, o+tt.path, "")
		if resp.StatusCode != tt.status || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		if tt.method != "OPTIONS" && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: content type %q", tt.method, tt.path, resp.Header.Get("Content-Type"))
		}
	}
	if resp, _ := getJSONDoc(t, "GET", o+"/.well-known/oauth-authorization-server", "evil.example"); resp.StatusCode != 421 {
		t.Fatalf("host not allowed: %d", resp.StatusCode)
	}
	// Nothing shared: /mcp is no resource either.
	e.setResources()
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/mcp/files"} {
		if resp, _ := getJSONDoc(t, "GET", o+path, ""); resp.StatusCode != 404 {
			t.Errorf("nothing shared, %s: %d", path, resp.StatusCode)
		}
	}
}
