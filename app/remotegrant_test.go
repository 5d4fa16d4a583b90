package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpshare/mcpshare/app/secrets"
)

// keysIn lists the keys of a secrets file.
func keysIn(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestLongSecretsAreStoredInPartsTheKeychainCanHold(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "secrets.json")
	fs, err := secrets.File(path)
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]secrets.Store{"file": fs}
	kc := secrets.Keychain("mcpshare-test-" + rand.Text()[:8])
	if err := secrets.Check(ctx, kc); err == nil {
		stores["keychain"] = kc
	} else if os.Getenv("MCPSHARE_REQUIRE_KEYCHAIN") == "1" {
		t.Fatalf("MCPSHARE_REQUIRE_KEYCHAIN=1 but the keychain is not usable: %v", err)
	}
	long := strings.Repeat("0123456789abcdef", 450) // 7200 bytes: a large JWT and more
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			key := grantKey("big")
			t.Cleanup(func() { deleteLarge(ctx, s, key) })
			for _, v := range []string{long, "short", "parts:x:3", long + "!", ""} {
				if err := putLarge(ctx, s, key, v); err != nil {
					t.Fatalf("putLarge(%d bytes): %v", len(v), err)
				}
				got, err := getLarge(ctx, s, key)
				if err != nil || got != v {
					t.Fatalf("getLarge after putLarge(%d bytes) = %d bytes, %v", len(v), len(got), err)
				}
				head, _ := s.Get(ctx, key)
				if len(head) > chunkSize {
					t.Fatalf("one item holds %d bytes, over %d", len(head), chunkSize)
				}
			}
			if err := deleteLarge(ctx, s, key); err != nil {
				t.Fatal(err)
			}
			if _, err := getLarge(ctx, s, key); !errors.Is(err, secrets.ErrNotFound) {
				t.Fatalf("getLarge after deleteLarge: %v, want ErrNotFound", err)
			}
			if name == "file" {
				if keys := keysIn(t, path); len(keys) != 0 {
					t.Fatalf("left behind after every rewrite and the delete: %v", keys)
				}
			}
		})
	}
}

func TestStaleGrantIsPurgedOnLoad(t *testing.T) {
	a := openTest(t, nil)
	ctx := context.Background()
	c := ServerConfig{Name: "r", Kind: KindRemote, URL: "https://mcp.example.com/mcp", OAuth: true, Enabled: true}
	g := &remoteGrant{Fingerprint: remoteFingerprint(c), ClientID: "id", TokenURL: "https://auth.example.com/token", AccessToken: "at"}
	if err := a.saveGrant(ctx, "r", g); err != nil {
		t.Fatal(err)
	}
	if got, err := a.loadGrant(ctx, c); err != nil || got == nil || got.AccessToken != "at" {
		t.Fatalf("loadGrant = %+v, %v", got, err)
	}
	for _, changed := range []func(*ServerConfig){
		func(c *ServerConfig) { c.URL = "https://mcp.example.com/other" },
		func(c *ServerConfig) { c.OAuthClientID = "pasted" },
	} {
		if err := a.saveGrant(ctx, "r", g); err != nil {
			t.Fatal(err)
		}
		next := c
		changed(&next)
		if got, err := a.loadGrant(ctx, next); err != nil || got != nil {
			t.Fatalf("a grant for other settings was used: %+v, %v", got, err)
		}
		if _, err := getLarge(ctx, a.secrets, grantKey("r")); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("the stale grant is still stored: %v", err)
		}
	}
}
