package tunnel

import (
	"context"
	"errors"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"https://mcp.example.com", "https://mcp.example.com"},
		{"https://mcp.example.com/", "https://mcp.example.com"},
		{"  https://mcp.example.com/\n", "https://mcp.example.com"},
		{"HTTPS://MCP.Example.COM", "https://mcp.example.com"},
		{"https://mcp.example.com:8443", "https://mcp.example.com:8443"},
		{"https://mcp.example.com:443/", "https://mcp.example.com"},
		{"https://x.ngrok.app", "https://x.ngrok.app"},
		{"https://[2001:db8::1]", "https://[2001:db8::1]"},
		{"https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"},
		{"http://127.0.0.1:8765", "http://127.0.0.1:8765"},
		{"http://127.0.0.1:80/", "http://127.0.0.1"},
		{"http://localhost:9000", "http://localhost:9000"},
		{"http://LOCALHOST:9000/", "http://localhost:9000"},
		{"http://[::1]:9000", "http://[::1]:9000"},
		{"http://app.localhost:9000", "http://app.localhost:9000"},

		{"", ""},
		{"   ", ""},
		{"mcp.example.com", ""},
		{"//mcp.example.com", ""},
		{"http://mcp.example.com", ""},
		{"http://192.168.1.10:8765", ""},
		{"ftp://mcp.example.com", ""},
		{"ws://mcp.example.com", ""},
		{"https://", ""},
		{"https:///path", ""},
		{"https:mcp.example.com", ""},
		{"https://mcp.example.com/mcp", ""},
		{"https://mcp.example.com/mcp/files", ""},
		{"https://mcp.example.com//", ""},
		{"https://mcp.example.com?x=1", ""},
		{"https://mcp.example.com/?", ""},
		{"https://mcp.example.com#top", ""},
		{"https://mcp.example.com/#", ""},
		{"https://user:pass@mcp.example.com", ""},
		{"https://user@mcp.example.com", ""},
		{"https://mcp.example.com:0", ""},
		{"https://mcp.example.com:70000", ""},
		{"https://mcp.example.com:", ""},
		{"https://mcp.example.com:abc", ""},
		{"https://mcp example.com", ""},
	}
	for _, tt := range tests {
		got, err := ParseOrigin(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseOrigin(%q) = %q; want an error", tt.in, got)
			} else if !errors.Is(err, ErrInvalidOrigin) {
				t.Errorf("ParseOrigin(%q) error %v is not ErrInvalidOrigin", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCustom(t *testing.T) {
	p, err := Custom("HTTPS://Share.Example.com/")
	if err != nil {
		t.Fatal(err)
	}
	origin, ln, err := p.Start(context.Background())
	if origin != "https://share.example.com" || ln != nil || err != nil {
		t.Errorf("Start = %q, %v, %v", origin, ln, err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	if _, err := Custom("http://share.example.com"); err == nil {
		t.Error("Custom accepted plain http on a public host")
	} else {
		t.Logf("refusal reads: %v", err)
	}
}

func TestNone(t *testing.T) {
	p := None()
	origin, ln, err := p.Start(context.Background())
	if origin != "" || ln != nil || err != nil {
		t.Errorf("Start = %q, %v, %v; want nothing", origin, ln, err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}
