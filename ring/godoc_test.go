package ring_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every exported identifier of the packages users program against has a
// doc or line comment: a declaration, a method, a constant or variable
// (a group's comment covers its specs), and a field of an exported struct
// (a comment covers the fields that follow it with no blank line between).
func TestEveryExportedIdentifierIsDocumented(t *testing.T) {
	for _, dir := range []string{".", "../layout"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			for _, missing := range undocumented(fset, f) {
				t.Errorf("%s: exported %s has no comment", fset.Position(missing.Pos()), missing.Name)
			}
		}
	}
}

// undocumented lists the exported names in f that carry no comment.
func undocumented(fset *token.FileSet, f *ast.File) []*ast.Ident {
	var out []*ast.Ident
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && d.Doc == nil && exportedReceiver(d) {
				out = append(out, d.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					if d.Doc == nil && s.Doc == nil && s.Comment == nil {
						out = append(out, s.Name)
					}
					if st, ok := s.Type.(*ast.StructType); ok {
						out = append(out, undocumentedFields(fset, st)...)
					}
				case *ast.ValueSpec:
					if d.Doc != nil || s.Doc != nil || s.Comment != nil {
						continue
					}
					for _, n := range s.Names {
						if n.IsExported() {
							out = append(out, n)
						}
					}
				}
			}
		}
	}
	return out
}

// exportedReceiver: a function, or a method of an exported type.
func exportedReceiver(d *ast.FuncDecl) bool {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return true
	}
	t := d.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch g := t.(type) {
	case *ast.IndexExpr: // T[P]
		t = g.X
	case *ast.IndexListExpr: // T[P, Q]
		t = g.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// undocumentedFields: the exported fields of st with no comment of their
// own and none on a field just above them (no blank line between).
func undocumentedFields(fset *token.FileSet, st *ast.StructType) []*ast.Ident {
	var out []*ast.Ident
	covered, lastLine := false, -1
	for _, fl := range st.Fields.List {
		line := fset.Position(fl.Pos()).Line
		if fl.Doc != nil {
			line = fset.Position(fl.Doc.Pos()).Line
		}
		if line != lastLine+1 {
			covered = false // a blank line (or the first field) ends a group
		}
		covered = covered || fl.Doc != nil || fl.Comment != nil
		lastLine = fset.Position(fl.End()).Line
		if fl.Comment != nil {
			lastLine = fset.Position(fl.Comment.End()).Line
		}
		if covered {
			continue
		}
		for _, n := range fl.Names {
			if n.IsExported() {
				out = append(out, n)
			}
		}
	}
	return out
}
