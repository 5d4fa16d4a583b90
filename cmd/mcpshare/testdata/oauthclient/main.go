// Command oauthclient is MCP Share's OAuth client as the MCP conformance
// suite's client scenarios run it: `oauthclient URL` adds URL as a remote
// server of a fresh MCP Share, signs in to it as the owner would (the
// browser is an HTTP client that follows the authorization server's
// redirects back to MCP Share's callback), then uses it through the gateway
// as a user of MCP Share would: a go-sdk client signed in to MCP Share's
// own authorization server lists the tools and calls the first.
//
// When MCP Share asks the owner to sign in again (a call that needs more
// than the sign-in gave, the server's 403 insufficient_scope; a token the
// server stopped taking), the command does, once, and tries again.
//
// MCP_CONFORMANCE_CONTEXT may give a pre-registered client (client_id,
// client_secret); MCP_CONFORMANCE_PROTOCOL_VERSION the protocol version the
// gateway's client speaks (and so the backend's).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/childproc"
)

// runTimeout bounds the whole run (the suite's own timeout is 30s).
const runTimeout = 60 * time.Second

// serverName is the remote server's name in MCP Share.
const serverName = "conformance"

func main() {
	childproc.RunSupervisorIfAsked()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oauthclient:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 {
		return errors.New("usage: oauthclient URL")
	}
	target := os.Args[len(os.Args)-1]
	var given struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if c := os.Getenv("MCP_CONFORMANCE_CONTEXT"); c != "" {
		if err := json.Unmarshal([]byte(c), &given); err != nil {
			return fmt.Errorf("MCP_CONFORMANCE_CONTEXT: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "oauthclient")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	a, err := app.Open(app.Options{
		ConfigDir: filepath.Join(dir, "config"), Secrets: app.SecretsFile, FilesRoot: filepath.Join(dir, "files"),
		Addr: "127.0.0.1:0", Approval: app.ApprovalPassword, Tunnel: app.TunnelNone,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	user, password := a.FirstRunCredentials()
	if err := a.Start(ctx); err != nil {
		return err
	}
	defer a.Stop(context.Background())

	cfg := app.ServerConfig{Name: serverName, Kind: app.KindRemote, Enabled: true, URL: target, OAuth: true, OAuthClientID: given.ClientID}
	if err := a.AddServer(ctx, cfg, nil); err != nil {
		return err
	}
	if given.ClientSecret != "" {
		if err := a.SetOAuthClientSecret(ctx, serverName, given.ClientSecret); err != nil {
			return err
		}
	}
	res, err := a.SignIn(ctx, serverName, followRedirects)
	if err != nil {
		return err
	}
	fmt.Printf("signed in: %s, tools %v\n", res.Server, res.Tools)

	// The owner signs in again when MCP Share asks, once.
	for again := false; ; again = true {
		err := useThroughGateway(ctx, a.MCPURL(serverName), user, password)
		why, _ := a.SignInState(serverName)
		if err == nil || why == "" || again {
			return err
		}
		fmt.Printf("MCP Share asks for a new sign-in: %s\n", why)
		if _, err := a.SignIn(ctx, serverName, followRedirects); err != nil {
			return fmt.Errorf("sign in again: %w", err)
		}
	}
}

// useThroughGateway lists the tools at mcpURL as MCP Share's user and calls
// the first.
func useThroughGateway(ctx context.Context, mcpURL, user, password string) error {
	cs, err := connectGateway(ctx, mcpURL, user, password)
	if err != nil {
		return fmt.Errorf("connect to MCP Share's gateway: %w", err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("list the tools through the gateway: %w", err)
	}
	if len(tools.Tools) == 0 {
		fmt.Println("the server lists no tools")
		return nil
	}
	name := tools.Tools[0].Name
	out, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil {
		return fmt.Errorf("call %s through the gateway: %w", name, err)
	}
	if out.IsError {
		return fmt.Errorf("call %s through the gateway: the tool failed: %s", name, text(out))
	}
	fmt.Printf("called %s: %s\n", name, text(out))
	return nil
}

func text(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, " ")
}

// followRedirects is the owner's browser at a sign-in of the conformance
// authorization server, which redirects at once: it follows the redirects
// to MCP Share's callback.
func followRedirects(authURL string) error {
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(authURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the browser ended at %s: %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	return nil
}

// connectGateway connects a go-sdk client to MCP Share's mcpURL as its
// first user: dynamic registration at MCP Share's own authorization server,
// the login form filled in, the code read from the redirect (the client's
// redirect URI is served by nobody).
func connectGateway(ctx context.Context, mcpURL, user, password string) (*mcp.ClientSession, error) {
	const redirect = "http://127.0.0.1:9/callback"
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		RedirectURL: redirect,
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none", ClientName: "conformance user",
		}},
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			loc, err := logIn(ctx, args.URL, user, password)
			if err != nil {
				return nil, err
			}
			q := loc.Query()
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	opts := &mcp.ClientSessionOptions{}
	if v := os.Getenv("MCP_CONFORMANCE_PROTOCOL_VERSION"); v != "" {
		opts.ProtocolVersion = v
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "oauthclient", Version: "0"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: mcpURL, OAuthHandler: h, MaxRetries: -1}, opts)
}

var (
	formRE  = regexp.MustCompile(`(?is)<form[^>]*action="([^"]*)"`)
	inputRE = regexp.MustCompile(`(?is)<input[^>]*>`)
	nameRE  = regexp.MustCompile(`(?i)name="([^"]*)"`)
	valueRE = regexp.MustCompile(`(?i)value="([^"]*)"`)
)

// logIn signs in at MCP Share's login page like a browser and returns the
// redirect it answers with.
func logIn(ctx context.Context, authURL, user, password string) (*url.URL, error) {
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("MCP Share's login page: %d %.300s", resp.StatusCode, page)
	}
	m := formRE.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("no form on MCP Share's login page: %.300s", page)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAll(page, -1) {
		n := nameRE.FindSubmatch(in)
		if n == nil {
			continue
		}
		v := ""
		if vm := valueRE.FindSubmatch(in); vm != nil {
			v = html.UnescapeString(string(vm[1]))
		}
		form.Set(string(n[1]), v)
	}
	form.Set("username", user)
	form.Set("password", password)
	base, _ := url.Parse(authURL)
	action, err := base.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return nil, err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("MCP Share's login answered %s without a redirect", resp.Status)
	}
	return url.Parse(loc)
}
