package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/secrets"
)

// What a sign-in to a remote server leaves behind, kept in the secret store
// (the keychain or the 0600 file), never in the database.

// Secret store keys of remote servers (new kinds next to app/secrets' own).
func grantKey(server string) string        { return "oauth/" + server }
func clientSecretKey(server string) string { return "oauth-client-secret/" + server }

// remoteGrant is a signed-in remote server: the client MCP Share is at its
// authorization server, and the tokens.
type remoteGrant struct {
	// Fingerprint is of the server's URL and OAuth settings at sign-in: a
	// grant for other settings is never used, and is purged.
	Fingerprint string `json:"fingerprint"`
	Resource    string `json:"resource"`
	Issuer      string `json:"issuer,omitempty"`

	ClientID     string           `json:"client_id"`
	ClientSecret string           `json:"client_secret,omitempty"`
	AuthStyle    oauth2.AuthStyle `json:"auth_style"`
	TokenURL     string           `json:"token_url"`
	Scopes       []string         `json:"scopes,omitempty"`

	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	SignedIn     time.Time `json:"signed_in"`
}

func (g *remoteGrant) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: g.AccessToken, TokenType: g.TokenType, RefreshToken: g.RefreshToken, Expiry: g.Expiry}
}

// setToken takes a token response, keeping the refresh token when the
// server sent no new one (RFC 6749 §6: it may keep the old one valid).
func (g *remoteGrant) setToken(t *oauth2.Token) {
	g.AccessToken, g.TokenType, g.Expiry = t.AccessToken, t.TokenType, t.Expiry
	if t.RefreshToken != "" {
		g.RefreshToken = t.RefreshToken
	}
}

func (g *remoteGrant) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID: g.ClientID, ClientSecret: g.ClientSecret, Scopes: g.Scopes,
		Endpoint: oauth2.Endpoint{TokenURL: g.TokenURL, AuthStyle: g.AuthStyle},
	}
}

// remoteFingerprint names what a grant is valid for: the server's URL and
// its OAuth settings. Changing any of them makes every stored token of the
// server stale.
func remoteFingerprint(c ServerConfig) string {
	h := sha256.Sum256([]byte(strings.Join([]string{"v1", c.URL, strconv.FormatBool(c.OAuth), c.OAuthClientID}, "\x00")))
	return hex.EncodeToString(h[:12])
}

// A value over chunkSize bytes is stored in parts: keychains hold little
// (the Windows Credential Manager 2.5 KB, go-keyring on macOS about 3 KB),
// and access tokens of some providers are JWTs of several KB. The head key
// then holds "parts:GEN:N" and the parts sit under KEY/GEN/1..N; a new
// value gets a new GEN and the old parts go once the new head is written,
// so a crash in between leaves the old value or the new one.
const (
	chunkSize   = 2000
	partsPrefix = "parts:"
)

// putLarge stores value under key, in parts when it is long.
func putLarge(ctx context.Context, s secrets.Store, key, value string) error {
	oldHead, err := s.Get(ctx, key)
	if err != nil && !errors.Is(err, secrets.ErrNotFound) {
		return err
	}
	if len(value) <= chunkSize && !strings.HasPrefix(value, partsPrefix) {
		if err := s.Set(ctx, key, value); err != nil {
			return err
		}
	} else {
		gen := rand.Text()[:8]
		n := 0
		for rest := value; rest != ""; n++ {
			part := rest[:min(chunkSize, len(rest))]
			rest = rest[len(part):]
			if err := s.Set(ctx, partKey(key, gen, n+1), part); err != nil {
				return err
			}
		}
		if err := s.Set(ctx, key, fmt.Sprintf("%s%s:%d", partsPrefix, gen, n)); err != nil {
			return err
		}
	}
	deleteParts(ctx, s, key, oldHead)
	return nil
}

// getLarge reads what putLarge stored; ErrNotFound when nothing is, or when
// a part is missing.
func getLarge(ctx context.Context, s secrets.Store, key string) (string, error) {
	head, err := s.Get(ctx, key)
	if err != nil {
		return "", err
	}
	gen, n, ok := parseHead(head)
	if !ok {
		return head, nil
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		p, err := s.Get(ctx, partKey(key, gen, i))
		if err != nil {
			return "", fmt.Errorf("part %d of %d of %s: %w", i, n, key, err)
		}
		b.WriteString(p)
	}
	return b.String(), nil
}

// deleteLarge removes key and its parts.
func deleteLarge(ctx context.Context, s secrets.Store, key string) error {
	head, err := s.Get(ctx, key)
	if errors.Is(err, secrets.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.Delete(ctx, key); err != nil {
		return err
	}
	deleteParts(ctx, s, key, head)
	return nil
}

// deleteParts removes the parts a head named; what cannot be removed is an
// unreachable leftover, not a failure of the caller.
func deleteParts(ctx context.Context, s secrets.Store, key, head string) {
	gen, n, ok := parseHead(head)
	if !ok {
		return
	}
	for i := 1; i <= n; i++ {
		_ = s.Delete(ctx, partKey(key, gen, i))
	}
}

func partKey(key, gen string, i int) string { return fmt.Sprintf("%s/%s/%d", key, gen, i) }

func parseHead(head string) (gen string, n int, ok bool) {
	rest, found := strings.CutPrefix(head, partsPrefix)
	if !found {
		return "", 0, false
	}
	gen, count, found := strings.Cut(rest, ":")
	n, err := strconv.Atoi(count)
	if !found || err != nil || n < 1 || n > 64 {
		return "", 0, false
	}
	return gen, n, true
}

// loadGrant reads the grant of server c. A grant made for other settings
// (fingerprint) is purged and reported absent (nil, nil); so is one that no
// longer decodes.
func (a *App) loadGrant(ctx context.Context, c ServerConfig) (*remoteGrant, error) {
	raw, err := getLarge(ctx, a.secrets, grantKey(c.Name))
	if errors.Is(err, secrets.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the sign-in of server %q: %w", c.Name, err)
	}
	var g remoteGrant
	if err := json.Unmarshal([]byte(raw), &g); err != nil || g.Fingerprint != remoteFingerprint(c) {
		a.log.Info("forgetting a sign-in made for other settings of the server", "server", c.Name)
		if err := deleteLarge(ctx, a.secrets, grantKey(c.Name)); err != nil {
			return nil, fmt.Errorf("forget the stale sign-in of server %q: %w", c.Name, err)
		}
		return nil, nil
	}
	return &g, nil
}

// saveGrant stores g as the grant of server name.
func (a *App) saveGrant(ctx context.Context, name string, g *remoteGrant) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := putLarge(ctx, a.secrets, grantKey(name), string(b)); err != nil {
		return fmt.Errorf("store the sign-in of server %q: %w", name, err)
	}
	return nil
}

// purgeGrant forgets every token of server name.
func (a *App) purgeGrant(ctx context.Context, name string) error {
	if err := deleteLarge(ctx, a.secrets, grantKey(name)); err != nil {
		return fmt.Errorf("forget the sign-in of server %q: %w", name, err)
	}
	return nil
}
