package oauthserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func postRegister(t *testing.T, e *env, ct, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(e.origin+"/register", ct, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestRegister(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	st, m := postRegister(t, e, "application/json", `{"redirect_uris":["https://chatgpt.com/connector/oauth/abc"],"client_name":"ChatGPT"}`)
	if st != 201 || m["token_endpoint_auth_method"] != "client_secret_basic" || m["client_secret"] == nil || m["client_secret_expires_at"] != float64(0) || m["scope"] != "mcp" {
		t.Fatalf("%d %v", st, m)
	}
	st, m = postRegister(t, e, "application/json", `{"redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"none","scope":"whatever"}`)
	if st != 201 || m["client_secret"] != nil || m["client_id"] == "" {
		t.Fatalf("none: %d %v", st, m)
	}
	// The secret is stored as a hash only.
	e.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketClients).ForEach(func(k, v []byte) error {
			if strings.Contains(string(v), prefixSecret) {
				t.Error("secret in clear in the store")
			}
			return nil
		})
	})
}

func TestRegisterRefusals(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	tests := []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"no redirect", "application/json", `{}`, 400, "invalid_redirect_uri"},
		{"http not loopback", "application/json", `{"redirect_uris":["http://example.com/cb"]}`, 400, "invalid_redirect_uri"},
		{"custom scheme", "application/json", `{"redirect_uris":["myapp://cb"]}`, 400, "invalid_redirect_uri"},
		{"relative", "application/json", `{"redirect_uris":["/cb"]}`, 400, "invalid_redirect_uri"},
		{"fragment", "application/json", `{"redirect_uris":["https://a.example/cb#x"]}`, 400, "invalid_redirect_uri"},
		{"userinfo", "application/json", `{"redirect_uris":["https://u:p@a.example/cb"]}`, 400, "invalid_redirect_uri"},
		{"too many", "application/json", `{"redirect_uris":[` + strings.Repeat(`"https://a.example/",`, MaxRedirectURIs) + `"https://a.example/"]}`, 400, "invalid_redirect_uri"},
		{"auth method", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, 400, "invalid_client_metadata"},
		{"grant type", "application/json", `{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}`, 400, "invalid_client_metadata"},
		{"no code grant", "application/json", `{"redirect_uris":["https://a.example/cb"],"grant_types":["refresh_token"]}`, 400, "invalid_client_metadata"},
		{"response type", "application/json", `{"redirect_uris":["https://a.example/cb"],"response_types":["token"]}`, 400, "invalid_client_metadata"},
		{"long name", "application/json", `{"redirect_uris":["https://a.example/cb"],"client_name":"` + strings.Repeat("x", 101) + `"}`, 400, "invalid_client_metadata"},
		{"control chars in name", "application/json", `{"redirect_uris":["https://a.example/cb"],"client_name":"a\u0007b"}`, 400, "invalid_client_metadata"},
		{"malformed", "application/json", `{"redirect_uris":`, 400, "invalid_client_metadata"},
		{"wrong types", "application/json", `{"redirect_uris":"https://a.example/cb"}`, 400, "invalid_client_metadata"},
		{"trailing data", "application/json", `{"redirect_uris":["https://a.example/cb"]} {}`, 400, "invalid_client_metadata"},
		{"form body", "application/x-www-form-urlencoded", `redirect_uris=https://a.example/cb`, 400, "invalid_client_metadata"},
		{"oversized", "application/json", `{"client_name":"` + strings.Repeat("x", MaxRegisterBody) + `"}`, 413, "invalid_client_metadata"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i > 0 && i%(MaxRegistrationsPerMinute-1) == 0 {
				e.clock.Add(time.Minute) // stay under the rate limit
			}
			st, m := postRegister(t, e, tt.ct, tt.body)
			if st != tt.status || m["error"] != tt.code {
				t.Fatalf("%d %v", st, m)
			}
		})
	}
}

func TestRegisterLimits(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	body := `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`
	for i := 0; i < MaxRegistrationsPerMinute; i++ {
		if st, m := postRegister(t, e, "application/json", body); st != 201 {
			t.Fatalf("%d: %d %v", i, st, m)
		}
	}
	if st, _ := postRegister(t, e, "application/json", body); st != http.StatusTooManyRequests {
		t.Fatalf("rate limit: %d", st)
	}
	e.clock.Add(time.Minute)
	if st, _ := postRegister(t, e, "application/json", body); st != 201 {
		t.Fatalf("after a minute: %d", st)
	}
	// Total cap, when every client is in use.
	e.db.Update(func(tx *bbolt.Tx) error {
		tx.DeleteBucket(bucketClients)
		tx.CreateBucket(bucketClients)
		for i := 0; i < MaxClients; i++ {
			putJSON(tx, bucketClients, []byte(fmt.Sprint("filler", i)), clientRecord{ID: fmt.Sprint("filler", i), Created: e.clock.Now(), LastUsed: e.clock.Now()})
		}
		return nil
	})
	e.clock.Add(time.Minute)
	if st, m := postRegister(t, e, "application/json", body); st != 503 || m["error"] != "temporarily_unavailable" {
		t.Fatalf("cap: %d %v", st, m)
	}
	// Stale clients expire: never used after an hour, used ones after 30 days without use.
	e.clock.Add(ClientNeverUsedTTL + time.Minute)
	if err := e.s.sweep(); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.s.Clients(); len(list) != MaxClients {
		t.Fatalf("%d clients left, want the %d used ones", len(list), MaxClients)
	}
	e.clock.Add(ClientUnusedTTL)
	if err := e.s.sweep(); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.s.Clients(); len(list) != 0 {
		t.Fatalf("%d clients left", len(list))
	}
	if st, _ := postRegister(t, e, "application/json", body); st != 201 {
		t.Fatalf("after sweep: %d", st)
	}
}

// Registrations from many addresses that fill the client table do not block new ones for a day
// (as they did): clients that never obtained a token make room, those of the network that
// registered most of them first, so a flood evicts its own. Rates count per network too.
func TestRegistrationFloodFromManyAddresses(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	e.s.maxClients = 200
	body := []byte(`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none","client_name":"flood"}`)
	// One network, many addresses: the per-network rate stops it.
	refused := 0
	for i := 1; i <= 100; i++ {
		if _, oe := e.s.register(body, fmt.Sprintf("203.0.113.%d", i)); oe != nil {
			if oe.Code != "slow_down" {
				t.Fatalf("registration %d: %v", i, oe)
			}
			refused++
		}
	}
	if refused != 100-MaxBlockRegistrationsPerMinute {
		t.Fatalf("%d of 100 registrations from one /24 refused, want %d", refused, 100-MaxBlockRegistrationsPerMinute)
	}
	// A legitimate client registers (and has not signed in yet), then a flood from many
	// networks fills the table several times over.
	legit, oe := e.s.register([]byte(`{"redirect_uris":["http://127.0.0.1:6274/oauth/callback"],"token_endpoint_auth_method":"none","client_name":"Inspector"}`), "192.0.2.10")
	if oe != nil {
		t.Fatal(oe)
	}
	for i := 0; i < 3*e.s.maxClients; i++ {
		if _, oe := e.s.register(body, fmt.Sprintf("198.%d.%d.1", 18+i/250%2, i%250)); oe != nil {
			t.Fatalf("flood registration %d: %v", i, oe)
		}
		if i%(MaxBlockRegistrationsPerMinute*100) == 0 {
			e.clock.Add(time.Minute)
		}
	}
	list, _ := e.s.Clients()
	if len(list) > e.s.maxClients {
		t.Fatalf("%d clients, bound %d", len(list), e.s.maxClients)
	}
	if c, _ := e.s.lookupClient(legit.ClientID); c == nil {
		t.Fatal("the flood evicted the client of another network")
	}
	if _, oe := e.s.register(body, "192.0.2.11"); oe != nil {
		t.Fatalf("a new registration after the flood: %v", oe)
	}
}

// FuzzRegistration feeds arbitrary bodies to the registration parser.
func FuzzRegistration(f *testing.F) {
	f.Add(`{"redirect_uris":["https://chatgpt.com/connector/oauth/x"],"token_endpoint_auth_method":"none"}`)
	f.Add(`{"redirect_uris":["http://[::1]:80/cb"],"grant_types":["authorization_code"],"response_types":["code"],"client_name":"é"}`)
	f.Add(`{"redirect_uris":[null, 1]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		c, e := parseRegistration([]byte(body))
		if e == nil {
			if len(c.RedirectURIs) == 0 || c.AuthMethod == "" {
				t.Fatalf("accepted without redirect or method: %+v", c)
			}
			for _, u := range c.RedirectURIs {
				if validateRedirectURI(u) != nil {
					t.Fatalf("accepted invalid redirect %q", u)
				}
			}
		} else if e.Code == "" || e.Status == 0 {
			t.Fatal("empty error")
		}
	})
}
