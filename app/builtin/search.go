package builtin

import (
	"cmp"
	"context"
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
	terms := queryTerms(query)
	var hits []hit
	walked := 0
	err := fs.WalkDir(f.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // unreadable entry: skip it, keep going
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir // .git and friends
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Symlinked files inside the folder are searched; symlinked folders are not
			// walked (no loops), and links that leave the folder are skipped.
			if f.check(p, p) != nil {
				return nil
			}
			fi, err := fs.Stat(f.fsys, p)
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		walked++
		if walked > maxFilesWalked {
			return fs.SkipAll
		}
		if h, ok := f.score(p, terms); ok {
			hits = append(hits, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return hits[:min(len(hits), maxResults)], nil
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

// score ranks the file p against terms. With no terms every file matches with score 0.
func (f *folder) score(p string, terms []string) (hit, bool) {
	name := path.Base(p)
	h := hit{SearchResult: SearchResult{ID: p, Title: name}}
	var text []byte
	if fi, err := fs.Stat(f.fsys, p); err == nil && fi.Size() <= maxSearchSize {
		if data, _, _, binary, err := readText(f.fsys, p, maxSearchSize); err == nil && !binary {
			text = data
		}
	}
	content := string(text)
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
