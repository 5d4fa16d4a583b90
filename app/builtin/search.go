package builtin

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	maxResults     = 20
	maxFilesWalked = 5000
	maxTerms       = 16
	snippetBefore  = 80
	snippetAfter   = 200
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
	hits, err := f.search(ctx, in.Query)
	if err != nil {
		return nil, SearchOutput{}, err
	}
	out := SearchOutput{Results: make([]SearchResult, 0, len(hits))}
	for _, h := range hits {
		out.Results = append(out.Results, h.SearchResult)
	}
	return nil, out, nil
}

// search walks the folder (bounded) and returns the best-ranked files for query.
func (f *folder) search(ctx context.Context, query string) ([]hit, error) {
	w := &walk{f: f, ctx: ctx, terms: queryTerms(query)}
	if err := w.dir("."); err != nil && !errors.Is(err, errWalkDone) {
		return nil, err
	}
	slices.SortFunc(w.hits, func(a, b hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return w.hits[:min(len(w.hits), maxResults)], nil
}

// walk is one search's walk of the folder: depth first, in name order.
type walk struct {
	f     *folder
	ctx   context.Context
	terms []string
	files int // files looked at
	hits  []hit
}

// errWalkDone ends a walk that reached a bound.
var errWalkDone = errors.New("search bound reached")

// dir walks the folder p, which was seen to be a folder.
func (w *walk) dir(p string) error {
	d, _, err := w.f.openSeen(p, folderKind)
	if err != nil {
		if p == "." {
			return explain(".", err)
		}
		return nil // unreadable, or replaced since it was seen: skip it
	}
	entries, _ := readDir(d)
	d.Close()
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
			if err := w.dir(child); err != nil {
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
	return nil
}

// file looks at the file p, which was seen to be a regular file.
func (w *walk) file(p string) error {
	if w.files == maxFilesWalked {
		return errWalkDone
	}
	w.files++
	if h, ok := score(p, w.text(p), w.terms); ok {
		w.hits = append(w.hits, h)
	}
	return nil
}

// text returns the content of the file p for searching, or "" when it cannot be read, is
// binary or is too large.
func (w *walk) text(p string) string {
	file, fi, err := w.f.openSeen(p, regularFile)
	if err != nil {
		return "" // replaced since it was seen (by a pipe, say), or unreadable
	}
	defer file.Close()
	if fi.Size() > maxSearchSize {
		return ""
	}
	data, _, binary, err := readText(file, fi.Size(), maxSearchSize)
	if err != nil || binary {
		return ""
	}
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
