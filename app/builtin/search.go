package builtin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	maxResults    = 20
	maxTerms      = 16 // distinct words of a query that are looked for
	snippetBefore = 80
	snippetAfter  = 200
	// Weights of the ranking: a word in the file name says more than one in its text.
	nameWeight    = 10
	dirWeight     = 3
	allTermsBonus = 5
	maxHitsCount  = 50 // content hits counted per word, so one long file does not drown the rest
)

// SearchInput is the argument of the search tool.
type SearchInput struct {
	Query string `json:"query" jsonschema:"words to look for in file names and text content"`
}

// SearchOutput is what search returns: the shape ChatGPT's connectors expect.
type SearchOutput struct {
	Results []SearchResult `json:"results"`
	// Truncated is omitted when false, so the usual answer has exactly ChatGPT's shape.
	Truncated bool `json:"truncated,omitempty" jsonschema:"true when the folder is larger than one search looks at, so that matching files may be missing"`
}

// SearchResult is one file found by search.
type SearchResult struct {
	ID    string `json:"id" jsonschema:"the file's path relative to the shared folder; pass it to fetch"`
	Title string `json:"title" jsonschema:"the file name"`
	// URL is left empty (and omitted): a file:// URL is useless to a remote client and the
	// folder has no web address.
	URL  string `json:"url,omitempty" jsonschema:"a URL of the file, when it has one"`
	Text string `json:"text,omitempty" jsonschema:"a snippet of the file around the first match"`
}

type hit struct {
	SearchResult
	score int
}

func (t *tools) search(ctx context.Context, _ *mcp.CallToolRequest, in SearchInput) (*mcp.CallToolResult, SearchOutput, error) {
	f, err := t.open()
	if err != nil {
		return nil, SearchOutput{}, err
	}
	defer f.Close()
	hits, truncated, err := f.search(ctx, in.Query)
	if err != nil {
		return nil, SearchOutput{}, err
	}
	out := SearchOutput{Results: make([]SearchResult, 0, len(hits)), Truncated: truncated}
	for _, h := range hits {
		out.Results = append(out.Results, h.SearchResult)
	}
	return nil, out, nil
}

// search walks the folder (bounded) and returns the best-ranked files for query, and
// whether a bound of the walk was reached, so that files may have been left out.
func (f *folder) search(ctx context.Context, query string) (hits []hit, truncated bool, err error) {
	if len(query) > maxQueryLen {
		return nil, false, fmt.Errorf("the query is %d bytes long; search takes queries of at most %d bytes (a few words work best)", len(query), maxQueryLen)
	}
	w := &walk{f: f, ctx: ctx, terms: queryTerms(query)}
	if err := w.dir(".", 0); err != nil && !errors.Is(err, errWalkDone) {
		return nil, false, err
	}
	slices.SortFunc(w.hits, func(a, b hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return w.hits[:min(len(w.hits), maxResults)], w.truncated, nil
}

// walk is one search's walk of the folder: depth first, in name order, within the bounds.
type walk struct {
	f         *folder
	ctx       context.Context
	terms     []string
	entries   int   // directory entries read, of any kind
	files     int   // files looked at
	textRead  int64 // bytes of content read
	truncated bool  // a bound was reached: files may have been left out
	hits      []hit
}

// errWalkDone ends a walk that reached a bound.
var errWalkDone = errors.New("search bound reached")

// dir walks the folder p, depth folders below the top, which was seen to be a folder.
func (w *walk) dir(p string, depth int) error {
	if w.entries >= w.f.lim.walkEntries {
		w.truncated = true
		return errWalkDone
	}
	d, _, err := w.f.openSeen(p, folderKind)
	if err != nil {
		if p == "." {
			return explain(".", err)
		}
		return nil // unreadable, or replaced since it was seen: skip it
	}
	entries, more, _ := readDir(d, w.f.lim.walkEntries-w.entries)
	d.Close()
	w.entries += len(entries)
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") {
			continue // hidden: .git and friends
		}
		child := path.Join(p, e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			if depth == w.f.lim.walkDepth {
				w.truncated = true
				continue
			}
			if err := w.dir(child, depth+1); err != nil {
				return err
			}
		case t.IsRegular():
			if err := w.file(child); err != nil {
				return err
			}
		case t&fs.ModeSymlink != 0:
			// Symlinked files inside the folder are searched; symlinked folders are not
			// walked (no loops), and links that leave the folder are skipped.
			if w.f.check(child, child) != nil {
				continue
			}
			if fi, err := w.f.root.Stat(child); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if err := w.file(child); err != nil {
				return err
			}
		}
		// Pipes, sockets and devices are never opened.
	}
	if more {
		w.truncated = true
		return errWalkDone
	}
	return nil
}

// file looks at the file p, which was seen to be a regular file.
func (w *walk) file(p string) error {
	if w.files == w.f.lim.walkFiles {
		w.truncated = true
		return errWalkDone
	}
	w.files++
	if h, ok := score(p, w.text(p), w.terms); ok {
		w.hits = append(w.hits, h)
	}
	return nil
}

// text returns the content of the file p for searching, or "" when it cannot be read, is
// binary, is too large, or the walk has read as much text as it may.
func (w *walk) text(p string) string {
	file, fi, err := w.f.openSeen(p, regularFile)
	if err != nil {
		return "" // replaced since it was seen (by a pipe, say), or unreadable
	}
	defer file.Close()
	if fi.Size() > maxSearchSize {
		return ""
	}
	if fi.Size() > w.f.lim.searchText-w.textRead {
		w.truncated = true
		return ""
	}
	data, _, binary, err := readText(file, fi.Size(), maxSearchSize)
	if binary {
		w.textRead += min(fi.Size(), sniffLen)
	}
	if err != nil || binary {
		return ""
	}
	w.textRead += int64(len(data))
	return string(data)
}

// queryTerms splits a query into distinct lower-case words.
func queryTerms(q string) []string {
	var terms []string
	for _, w := range strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '\''
	}) {
		if !slices.Contains(terms, w) && len(terms) < maxTerms {
			terms = append(terms, w)
		}
	}
	return terms
}

// score ranks the file p, whose text is content, against terms. With no terms every
// file matches with score 0.
func score(p, content string, terms []string) (hit, bool) {
	name := path.Base(p)
	h := hit{SearchResult: SearchResult{ID: encodeID(p), Title: displayName(name)}}
	lower := strings.ToLower(content)
	lowerName := strings.ToLower(name)
	lowerDir := strings.ToLower(path.Dir(p))

	matched, first := 0, -1
	for _, term := range terms {
		n := strings.Count(lowerName, term)
		d := 0
		if lowerDir != "." {
			d = strings.Count(lowerDir, term)
		}
		c := min(strings.Count(lower, term), maxHitsCount)
		if n+d+c == 0 {
			continue
		}
		matched++
		h.score += nameWeight*n + dirWeight*d + c
		if i := strings.Index(lower, term); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if len(terms) > 0 && matched == 0 {
		return hit{}, false
	}
	if len(terms) > 1 && matched == len(terms) {
		h.score += allTermsBonus * len(terms)
	}
	// ToLower can change the length of some runes; then the offset into the lower-case
	// text does not fit the original, and the snippet is taken from the lower-case text.
	src := content
	if len(lower) != len(content) {
		src = lower
	}
	h.Text = snippet(src, max(first, 0))
	return h, true
}

// snippet returns the text around byte offset at, on rune boundaries, with white space
// collapsed and "…" where it was cut.
func snippet(s string, at int) string {
	if s == "" {
		return ""
	}
	start, end := max(0, at-snippetBefore), min(len(s), at+snippetAfter)
	for start > 0 && !utf8.RuneStart(s[start]) {
		start--
	}
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	out := strings.Join(strings.Fields(s[start:end]), " ")
	if start > 0 {
		out = "…" + out
	}
	if end < len(s) {
		out += "…"
	}
	return out
}
