package app

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseImportFormats(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantServers []string
		wantSkipped []string
		wantSecret  map[string][]string
	}{
		{
			name: "claude desktop",
			in: `{"mcpServers": {
				"filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/me/notes"]},
				"Brave Search": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-brave-search"], "env": {"BRAVE_API_KEY": "k", "DEBUG": "1"}}
			}}`,
			wantServers: []string{"brave-search", "filesystem"},
			wantSecret:  map[string][]string{"brave-search": {"BRAVE_API_KEY"}},
		},
		{
			name: "cursor with remote and local urls",
			in: `{"mcpServers": {
				"remote": {"url": "https://mcp.example.com/mcp"},
				"local": {"url": "http://localhost:3000/mcp"},
				"legacy": {"url": "http://127.0.0.1:3001/sse", "type": "sse"}
			}}`,
			wantServers: []string{"local", "remote"},
			wantSkipped: []string{"legacy"},
		},
		{
			name: "mcp-remote wrappers",
			in: `{"mcpServers": {
				"linear": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.linear.app/mcp"]},
				"pinned": {"command": "npx", "args": ["mcp-remote@0.1.29", "https://mcp.example.com/mcp", "9696"]},
				"keyed": {"command": "npx", "args": ["mcp-remote", "https://api.example.com/mcp", "--header", "Authorization: Bearer ${KEY}"]},
				"old": {"command": "npx", "args": ["mcp-remote", "https://sse.example.com/sse", "--transport", "sse-only"]},
				"headed": {"url": "https://mcp.example.com/mcp", "headers": {"X-Key": "k"}}
			}}`,
			wantServers: []string{"linear", "pinned"},
			wantSkipped: []string{"headed", "keyed", "old"},
		},
		{
			name: "vs code mcp.json with comments, inputs and trailing commas",
			in: `{
				// servers for this workspace
				"inputs": [{"type": "promptString", "id": "tok", "password": true}],
				"servers": {
					"gh": {"type": "stdio", "command": "gh-mcp", "env": {"TOKEN": "${input:tok}"}},
					"time": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"],}, /* trailing */
				},
			}`,
			wantServers: []string{"time"},
			wantSkipped: []string{"gh"},
		},
		{
			name:        "vs code settings.json",
			in:          `{"editor.fontSize": 14, "mcp": {"servers": {"fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}}}}`,
			wantServers: []string{"fetch"},
		},
		{
			name: "two entries with the same URL name keep their own secrets",
			in: `{"mcpServers": {
				"GitHub": {"command": "gh-a", "env": {"GITHUB_TOKEN": "first"}},
				"github": {"command": "gh-b", "env": {"GITHUB_TOKEN": "second"}}
			}}`,
			wantServers: []string{"github"},
			wantSkipped: []string{"github"},
			wantSecret:  map[string][]string{"github": {"GITHUB_TOKEN"}},
		},
		{
			name:        "disabled and unnamable entries",
			in:          `{"mcpServers": {"off": {"command": "x", "disabled": true}, "!!!": {"command": "y"}, "neither": {}}}`,
			wantSkipped: []string{"!!!", "neither", "off"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers, secrets, skipped, err := ParseImport([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range servers {
				names = append(names, s.Name)
				if err := s.Validate(); err != nil {
					t.Errorf("imported an invalid config: %v", err)
				}
				for _, k := range s.SecretEnv {
					if _, inPlain := s.Env[k]; inPlain {
						t.Errorf("%s: secret %s also in plain env", s.Name, k)
					}
					if secrets[s.Name][k] == "" {
						t.Errorf("%s: no value for secret %s", s.Name, k)
					}
				}
				if want := tt.wantSecret[s.Name]; want != nil && !reflect.DeepEqual(s.SecretEnv, want) {
					t.Errorf("%s: secret env %v, want %v", s.Name, s.SecretEnv, want)
				}
			}
			var sk []string
			for _, s := range skipped {
				sk = append(sk, s.Name)
				if s.Reason == "" {
					t.Errorf("skipped %s without a reason", s.Name)
				}
			}
			if !reflect.DeepEqual(names, tt.wantServers) {
				t.Errorf("servers %v, want %v", names, tt.wantServers)
			}
			if !reflect.DeepEqual(sk, tt.wantSkipped) {
				t.Errorf("skipped %v, want %v (%+v)", sk, tt.wantSkipped, skipped)
			}
		})
	}
}

func TestParseImportRefusesNonConfig(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"other": 1}`, `{"mcpServers": `, "\x00\x01"} {
		_, _, _, err := ParseImport([]byte(in))
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseImport(%q) = %v, want ErrInvalidConfig", in, err)
		}
	}
}

func TestStripJSONCKeepsStrings(t *testing.T) {
	in := `{"url": "http://a//b", "s": "/* not a comment */", "q": "a\"//b", } // end`
	got := string(stripJSONC([]byte(in)))
	for _, keep := range []string{`"http://a//b"`, `"/* not a comment */"`, `"a\"//b"`} {
		if !strings.Contains(got, keep) {
			t.Errorf("stripJSONC lost %s: %s", keep, got)
		}
	}
	if strings.Contains(got, "end") || strings.Contains(got, ", }") {
		t.Errorf("stripJSONC kept a comment or trailing comma: %s", got)
	}
}

func FuzzParseImport(f *testing.F) {
	f.Add([]byte(`{"mcpServers": {"a": {"command": "x", "env": {"K": "v"}}}}`))
	f.Add([]byte(`{"servers": {"b": {"url": "http://127.0.0.1:1/mcp"}}} // c`))
	f.Fuzz(func(t *testing.T, data []byte) {
		servers, _, _, err := ParseImport(data)
		if err != nil {
			return
		}
		for _, s := range servers {
			if err := s.Validate(); err != nil {
				t.Fatalf("ParseImport returned an invalid server: %v", err)
			}
		}
	})
}

func TestSlugAndValidName(t *testing.T) {
	for in, want := range map[string]string{
		"My Notes": "my-notes", "GitHub": "github", "a--b": "a-b", "-x-": "x", "!!!": "", "snake_case": "snake_case",
		strings.Repeat("a", 80): strings.Repeat("a", 63),
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
		if want != "" && ValidName(want) != nil {
			t.Errorf("ValidName(%q) refused a slug", want)
		}
	}
	for _, bad := range []string{"", "A", "a b", "-a", "a/b", "..", strings.Repeat("a", 64)} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
}

func TestServerConfigValidate(t *testing.T) {
	tests := []struct {
		cfg ServerConfig
		ok  bool
	}{
		{ServerConfig{Name: "a", Kind: KindStdio, Command: "npx"}, true},
		{ServerConfig{Name: "a", Kind: KindStdio}, false},
		{ServerConfig{Name: "a", Kind: KindHTTP, URL: "http://127.0.0.1:3000/mcp"}, true},
		{ServerConfig{Name: "a", Kind: KindHTTP, URL: "http://[::1]:3000/mcp"}, true},
		{ServerConfig{Name: "a", Kind: KindHTTP, URL: "https://example.com/mcp"}, false},
		{ServerConfig{Name: "a", Kind: KindHTTP, URL: "ftp://127.0.0.1/"}, false},
		{ServerConfig{Name: "a", Kind: KindHTTP, URL: "http://127.evil.example/mcp"}, false},
		{ServerConfig{Name: "a", Kind: KindHTTP, URL: "http://127.0.0.2:3000/mcp"}, true},
		{ServerConfig{Name: "a", Kind: KindBuiltin, Root: "/tmp"}, true},
		{ServerConfig{Name: "a", Kind: KindBuiltin}, false},
		{ServerConfig{Name: "a", Kind: "other"}, false},
		{ServerConfig{Name: "a", Kind: KindStdio, Command: "x", Env: map[string]string{"A=B": "c"}}, false},
		{ServerConfig{Name: "a", Kind: KindStdio, Command: "x", Env: map[string]string{"K": "v"}, SecretEnv: []string{"K"}}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate error %v does not match ErrInvalidConfig", err)
		}
	}
}
