package ring_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's Go snippets come from compiled examples: each block names,
// in the lines just before it, the example file it is abridged from, and
// every statement and comment in it must be there. Abridging drops lines
// (error checks) and may drop an assignment's left side; it may not write
// code the compiler never saw.
func TestREADMESnippetsComeFromCompiledExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("no ```go block found in README.md")
	}
	for _, b := range blocks {
		if b.source == "" {
			t.Errorf("README.md line %d: a Go snippet that names no ring/example*_test.go it is abridged from", b.line)
			continue
		}
		src, err := os.ReadFile(strings.TrimPrefix(b.source, "ring/"))
		if err != nil {
			t.Errorf("README.md line %d: %v", b.line, err)
			continue
		}
		for i, l := range b.lines {
			for _, piece := range snippetPieces(l) {
				if !strings.Contains(string(src), piece) {
					t.Errorf("README.md line %d: %q is not in %s", b.line+1+i, piece, b.source)
				}
			}
		}
	}
}

type goBlock struct {
	line   int    // of the opening fence, from 1
	source string // the example file named just before it
	lines  []string
}

// exampleFile is how the README names a snippet's source.
var exampleFile = regexp.MustCompile("`(ring/example[a-z_]*_test\\.go)`")

// goBlocks finds the ```go blocks, each with the last example file named
// in the six lines before its fence.
func goBlocks(readme string) []goBlock {
	lines := strings.Split(readme, "\n")
	var blocks []goBlock
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		b := goBlock{line: i + 1}
		for j := max(0, i-6); j < i; j++ {
			if m := exampleFile.FindAllStringSubmatch(lines[j], -1); m != nil {
				b.source = m[len(m)-1][1]
			}
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			b.lines = append(b.lines, lines[i])
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// leftSide is an assignment's left side, which abridging may change
// ("err = p.Commit(n)" for "if err := p.Commit(n); err != nil {").
var leftSide = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(, *[A-Za-z_][A-Za-z0-9_]*)* *:?= *`)

// snippetPieces: what of one snippet line must appear in the example, the
// code without its left side and its comment, each trimmed. Lines of
// closing braces carry nothing to check.
func snippetPieces(line string) []string {
	code, comment, _ := strings.Cut(line, "//")
	var pieces []string
	code = strings.TrimSpace(leftSide.ReplaceAllString(strings.TrimSpace(code), ""))
	if strings.Trim(code, "{}() ") != "" {
		pieces = append(pieces, code)
	}
	if comment = strings.TrimSpace(comment); comment != "" {
		pieces = append(pieces, comment)
	}
	return pieces
}
