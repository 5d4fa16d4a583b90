package tunnel

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestParseDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"example.ngrok.app", "example.ngrok.app"},
		{" Example.Ngrok.App\n", "example.ngrok.app"},
		{"https://example.ngrok.app/", "example.ngrok.app"},
		{"mcp.example.com", "mcp.example.com"},
	}
	for _, tt := range tests {
		if got, err := parseDomain(tt.in); err != nil || got != tt.want {
			t.Errorf("parseDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"http://example.ngrok.app", "example.ngrok.app/mcp", "example.ngrok.app:8443", "tcp://1.tcp.ngrok.io:1234", "a b"} {
		if _, err := Ngrok(NgrokConfig{Authtoken: "t", Domain: bad}); err == nil {
			t.Errorf("Ngrok accepted domain %q", bad)
		}
	}
}

// TestNgrokSeam checks Start's own logic with a listen function standing in
// for the SDK.
func TestNgrokSeam(t *testing.T) {
	t.Run("caller cancels", func(t *testing.T) {
		ended := make(chan struct{})
		p, _ := newNgrok(NgrokConfig{Authtoken: "t"}, func(ctx context.Context, _ NgrokConfig, _ func(bool, error)) (net.Listener, string, func() error, error) {
			<-ctx.Done()
			close(ended)
			return nil, "", nil, ctx.Err()
		})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		if _, _, err := p.Start(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v; want context.Canceled", err)
		}
		<-ended // the session context ends too
	})
	t.Run("late success after timeout is taken down", func(t *testing.T) {
		release := make(chan struct{})
		closed := make(chan struct{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p, _ := newNgrok(NgrokConfig{Authtoken: "t", Timeout: 30 * time.Millisecond}, func(ctx context.Context, _ NgrokConfig, _ func(bool, error)) (net.Listener, string, func() error, error) {
			<-release
			return ln, "https://late.ngrok.app", func() error { close(closed); return nil }, nil
		})
		if _, _, err := p.Start(context.Background()); !errors.Is(err, ErrNoNetwork) {
			t.Errorf("err = %v; want ErrNoNetwork", err)
		}
		close(release)
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("late agent not disconnected")
		}
	})
	t.Run("Start does not hold the session to its context", func(t *testing.T) {
		var sessCtx context.Context
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := newNgrok(NgrokConfig{Authtoken: "t"}, func(ctx context.Context, _ NgrokConfig, _ func(bool, error)) (net.Listener, string, func() error, error) {
			sessCtx = ctx
			return ln, "https://X.ngrok.app/", func() error { return nil }, nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		origin, _, err := p.Start(ctx)
		cancel()
		if err != nil || origin != "https://x.ngrok.app" {
			t.Fatalf("Start = %q, %v", origin, err)
		}
		if sessCtx.Err() != nil {
			t.Error("the session ended with Start's context")
		}
		p.Close()
		if sessCtx.Err() == nil {
			t.Error("Close did not end the session context")
		}
	})
}
