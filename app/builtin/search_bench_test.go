package builtin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkSearch searches a folder of 5,000 text files (50 folders of 100 files of about
// 2 KiB) through the tool handler, as the MCP server calls it.
func BenchmarkSearch(b *testing.B) {
	root := b.TempDir()
	words := strings.Fields("alpha beta gamma delta report notes budget meeting draft final summary plan milk todo")
	rng := rand.New(rand.NewPCG(1, 2))
	for d := range 50 {
		dir := filepath.Join(root, fmt.Sprintf("folder%02d", d))
		if err := os.Mkdir(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		for i := range 100 {
			var text strings.Builder
			for text.Len() < 2<<10 {
				text.WriteString(words[rng.IntN(len(words))])
				text.WriteByte(" \n"[rng.IntN(2)])
			}
			name := fmt.Sprintf("%s-%03d.md", words[rng.IntN(len(words))], i)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text.String()), 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	tl := &tools{root: root}
	for b.Loop() {
		_, out, err := tl.search(context.Background(), nil, SearchInput{Query: "budget meeting"})
		if err != nil || len(out.Results) != maxResults {
			b.Fatalf("search: %d results, %v", len(out.Results), err)
		}
	}
}
