package builtin

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FetchInput is the argument of the fetch tool.
type FetchInput struct {
	ID string `json:"id" jsonschema:"the id of a file as search or list returned it: its path relative to the shared folder"`
}

// FetchOutput is one file's text: the document shape ChatGPT's connectors expect.
type FetchOutput struct {
	ID       string        `json:"id" jsonschema:"the file's path relative to the shared folder"`
	Title    string        `json:"title" jsonschema:"the file name"`
	Text     string        `json:"text" jsonschema:"the file's text (cut after 1 MiB, with a note)"`
	URL      string        `json:"url,omitempty" jsonschema:"a URL of the file, when it has one"`
	Metadata FetchMetadata `json:"metadata"`
}

// FetchMetadata describes the fetched file.
type FetchMetadata struct {
	Path      string `json:"path" jsonschema:"the file's path relative to the shared folder"`
	Size      int64  `json:"size" jsonschema:"the file's size in bytes"`
	Modified  string `json:"modified" jsonschema:"when the file was last changed (RFC 3339)"`
	Truncated bool   `json:"truncated" jsonschema:"true when text holds only the start of the file"`
}

func (t *tools) fetch(ctx context.Context, _ *mcp.CallToolRequest, in FetchInput) (*mcp.CallToolResult, FetchOutput, error) {
	f, err := t.open()
	if err != nil {
		return nil, FetchOutput{}, err
	}
	defer f.Close()
	out, err := f.fetch(in.ID)
	return nil, out, err
}

func (f *folder) fetch(id string) (FetchOutput, error) {
	rel, err := cleanID(id)
	if err != nil {
		return FetchOutput{}, err
	}
	if rel == "." {
		return FetchOutput{}, errors.New("fetch needs the id of a file, as search or list return them; use list to see the shared folder")
	}
	if err := f.check(id, rel); err != nil {
		return FetchOutput{}, err
	}
	file, fi, err := f.open(rel, regularFile)
	if err != nil {
		return FetchOutput{}, explain(id, err)
	}
	defer file.Close()
	data, truncated, binary, err := readText(file, fi.Size(), maxFetchSize)
	switch {
	case err != nil:
		return FetchOutput{}, explain(id, err)
	case binary:
		return FetchOutput{}, fmt.Errorf("%q is a binary file (%s); fetch returns text files only", id, formatSize(fi.Size()))
	}
	text := string(data)
	if truncated {
		text += fmt.Sprintf("\n\n[MCP Share: this file is %s; only its first %s is shown above.]", formatSize(fi.Size()), formatSize(int64(len(data))))
	}
	canonical := encodeID(rel)
	return FetchOutput{
		ID:    canonical,
		Title: displayName(path.Base(rel)),
		Text:  text,
		Metadata: FetchMetadata{
			Path:      canonical,
			Size:      fi.Size(),
			Modified:  fi.ModTime().UTC().Format(time.RFC3339),
			Truncated: truncated,
		},
	}, nil
}

// formatSize says n bytes the way people read it.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
