//go:build unix

package builtin

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// specialFixture is a shared folder that holds, besides a text file, every kind of file a
// tool must not open: a FIFO (open(2) for reading waits for a writer), a socket, a
// character device (a copy of /dev/null, when mknod is allowed) and links to them.
//
//	root/README.md     "welcome pipe"
//	root/fifo          named pipe
//	root/sock          socket
//	root/null          character device 1,3, if the test may mknod
//	root/fifolink   -> fifo
//	root/sub/fifo      named pipe, in a subfolder
func specialFixture(t *testing.T) (root string, fifos []string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(root, "README.md"), "welcome pipe")
	for _, name := range []string{"fifo", "sub/fifo"} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatalf("mkfifo: %v", err)
		}
		fifos = append(fifos, p)
	}
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatalf("unix socket: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	var null syscall.Stat_t
	if err := syscall.Stat("/dev/null", &null); err == nil {
		// Needs CAP_MKNOD; without it the device cases are skipped.
		syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o600, int(null.Rdev))
	}
	if err := os.Symlink("fifo", filepath.Join(root, "fifolink")); err != nil {
		t.Fatal(err)
	}
	return root, fifos
}

// bounded runs call, and fails the test if it has not returned after a minute: a call
// that opens a FIFO blocks until a writer comes, so a regression would otherwise hang
// the test. Passing tests never wait for the minute; it only turns a hang into a failure,
// after which the FIFOs are opened for writing once so that the blocked calls return.
func bounded(t *testing.T, fifos []string, call func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		call()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		for _, p := range fifos {
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		}
		<-done
		t.Fatal("the call blocked for a minute: something opened a FIFO for reading")
	}
}

func TestFetchRefusesWhatIsNotARegularFile(t *testing.T) {
	root, fifos := specialFixture(t)
	f := open(t, root)
	tests := []struct {
		id, want string
	}{
		{"fifo", `"fifo" is a named pipe (FIFO), not a regular file; only regular files and folders are read, because opening or reading a pipe, socket or device can wait forever`},
		{"sub/fifo", `"sub/fifo" is a named pipe (FIFO), not a regular file`},
		{"fifolink", `"fifolink" is a named pipe (FIFO), not a regular file`},
		{"sock", `"sock" is a socket, not a regular file`},
		{"null", `"null" is a character device, not a regular file`},
		{"sub", `"sub" is a folder; use list with this path`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if _, err := os.Lstat(filepath.Join(root, tt.id)); err != nil {
				t.Skipf("fixture has no %s: %v", tt.id, err)
			}
			var err error
			bounded(t, fifos, func() { _, err = f.fetch(tt.id) })
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("fetch(%q): err = %v, want one starting %q", tt.id, err, tt.want)
			}
		})
	}
	if out, err := f.fetch("README.md"); err != nil || out.Text != "welcome pipe" {
		t.Errorf("fetch(README.md) next to them = %+v, %v", out, err)
	}
}

func TestListRefusesWhatIsNotAFolder(t *testing.T) {
	root, fifos := specialFixture(t)
	f := open(t, root)
	tests := []struct {
		path, want string
	}{
		{"fifo", `"fifo" is a named pipe (FIFO), not a folder`},
		{"fifolink", `"fifolink" is a named pipe (FIFO), not a folder`},
		{"sock", `"sock" is a socket, not a folder`},
		{"null", `"null" is a character device, not a folder`},
		{"README.md", `"README.md" is a file, not a folder; use fetch to read it`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if _, err := os.Lstat(filepath.Join(root, tt.path)); err != nil {
				t.Skipf("fixture has no %s: %v", tt.path, err)
			}
			var err error
			bounded(t, fifos, func() { _, err = f.list(tt.path) })
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("list(%q): err = %v, want one starting %q", tt.path, err, tt.want)
			}
		})
	}

	// The folder's listing leaves out what cannot be read.
	var out ListOutput
	var err error
	bounded(t, fifos, func() { out, err = f.list("") })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range out.Entries {
		names = append(names, e.Name+":"+e.Type)
	}
	if got := strings.Join(names, " "); got != "README.md:file sub:dir" {
		t.Errorf("list = %s, want only README.md and sub", got)
	}
}

func TestSearchSkipsWhatIsNotARegularFile(t *testing.T) {
	root, fifos := specialFixture(t)
	f := open(t, root)
	for _, query := range []string{"fifo", "sock null", "pipe", ""} {
		var hits []hit
		var err error
		bounded(t, fifos, func() { hits, _, err = f.search(context.Background(), query) })
		if err != nil {
			t.Fatalf("search(%q): %v", query, err)
		}
		for _, h := range hits {
			if h.ID != "README.md" {
				t.Errorf("search(%q) found %s; only README.md is a regular file", query, h.ID)
			}
		}
	}
}

// The walk looks at an entry's type before opening it; a file can still be replaced by a
// FIFO between the two, and then the open must neither block nor read it.
func TestSearchWalkRefusesAFileReplacedByAPipe(t *testing.T) {
	root, fifos := specialFixture(t)
	f := open(t, root)
	w := &walk{f: f, ctx: context.Background(), terms: []string{"fifo"}}
	bounded(t, fifos, func() {
		if text := w.text("fifo"); text != "" {
			t.Errorf("text of a FIFO seen as a file = %q", text)
		}
		if err := w.dir("fifo", 1); err != nil {
			t.Errorf("walking a FIFO seen as a folder: %v", err)
		}
		if _, _, err := f.openSeen("sock", regularFile); err == nil {
			t.Error("openSeen opened a socket seen as a file")
		}
	})
	if w.entries != 0 {
		t.Errorf("the walk read %d entries of a FIFO", w.entries)
	}
}

// Ten thousand concurrent fetches of a FIFO, each in a goroutine of its own as the MCP
// server runs tool calls: more than Go's limit of 10,000 threads if each blocked one in
// open(2), as it did. Each returns an error, and no goroutine is left behind.
func TestManyConcurrentFetchesOfAPipe(t *testing.T) {
	calls := 10_000
	if raceDetector {
		calls = 4_000
	}
	root, fifos := specialFixture(t)
	tl := &tools{root: root}
	before := runtime.NumGoroutine()
	errs := make(chan error, calls)
	bounded(t, fifos, func() {
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				if _, _, err := tl.fetch(context.Background(), nil, FetchInput{ID: "fifo"}); err == nil || !strings.Contains(err.Error(), "named pipe") {
					errs <- fmt.Errorf("err = %v, want one about a named pipe", err)
				}
			})
		}
		wg.Wait()
	})
	close(errs)
	if n := len(errs); n > 0 {
		t.Errorf("%d of %d fetches went wrong; the first: %v", n, calls, <-errs)
	}
	// Goroutines end a moment after their work is done: wait for the count to come down.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after the fetches:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// Through the MCP server, a FIFO is a tool error the model can read, not a protocol error.
func TestServerFetchOfAPipeIsAToolError(t *testing.T) {
	root, fifos := specialFixture(t)
	ctx := context.Background()
	cs := connect(t, root)
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"fetch", map[string]any{"id": "fifo"}},
		{"list", map[string]any{"path": "fifo"}},
	} {
		var res *mcp.CallToolResult
		var err error
		bounded(t, fifos, func() { res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args}) })
		if err != nil {
			t.Fatalf("%s: protocol error %v", tc.tool, err)
		}
		if text := res.Content[0].(*mcp.TextContent).Text; !res.IsError || !strings.Contains(text, "is a named pipe (FIFO)") {
			t.Errorf("%s %v: IsError=%v %q, want a tool error about a named pipe", tc.tool, tc.args, res.IsError, text)
		}
	}
}
