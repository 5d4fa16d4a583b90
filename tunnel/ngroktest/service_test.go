package ngroktest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.ngrok.com/ngrok/v2"

	"github.com/mcpshare/mcpshare/tunnel/ngroktest"
)

// TestServiceCarriesHTTPS drives the real agent against the service and sends HTTPS and plain
// HTTP requests through it to a handler on the agent's listener.
func TestServiceCarriesHTTPS(t *testing.T) {
	svc := ngroktest.Start(t, ngroktest.WithAuthtoken("good-token"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	agent, err := ngrok.NewAgent(ngrok.WithAuthtoken("good-token"),
		ngrok.WithAgentConnectURL(svc.ConnectURL()), ngrok.WithAgentConnectCAs(svc.CAs()))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := agent.Listen(ctx, ngrok.WithURL("https://fake.example.ngrok.app"))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer agent.Disconnect()
	if got := ln.URL().String(); got != "https://fake.example.ngrok.app" {
		t.Errorf("URL = %q; want the one asked for", got)
	}
	if got := svc.Authtoken(); got != "good-token" {
		t.Errorf("Authtoken() = %q", got)
	}
	if url, ok := svc.WaitBind(time.Second); !ok || url != "https://fake.example.ngrok.app" {
		t.Errorf("WaitBind = %q, %v", url, ok)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", r.Host, r.URL.Path, r.RemoteAddr)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	client := svc.HTTPClient()
	for _, u := range []string{"https://fake.example.ngrok.app/a", "http://other.example/b"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		host, path, _ := strings.Cut(strings.SplitN(u, "://", 2)[1], "/")
		if want := host + " /" + path + " " + ngroktest.ClientAddr; string(body) != want {
			t.Errorf("GET %s: %q; want %q", u, body, want)
		}
	}
}

func TestServiceRejectsOtherAuthtoken(t *testing.T) {
	svc := ngroktest.Start(t, ngroktest.WithAuthtoken("good-token"))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	agent, err := ngrok.NewAgent(ngrok.WithAuthtoken("bad-token"),
		ngrok.WithAgentConnectURL(svc.ConnectURL()), ngrok.WithAgentConnectCAs(svc.CAs()))
	if err != nil {
		t.Fatal(err)
	}
	err = agent.Connect(ctx)
	var ne ngrok.Error
	if !errors.As(err, &ne) || ne.Code() != ngroktest.BadAuthtokenCode {
		t.Fatalf("Connect = %v; want an ngrok.Error with %s", err, ngroktest.BadAuthtokenCode)
	}
}
