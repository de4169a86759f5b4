package layering

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxParams is the most parameters a function may take, its receiver not
// counted: more is a run's state that wants to be one value.
const maxParams = 6

// longSignature is a function that takes more than maxParams parameters.
type longSignature struct {
	pos    token.Position
	name   string
	params int
}

func (l longSignature) String() string {
	return fmt.Sprintf("%s: %s takes %d parameters (at most %d)", l.pos, l.name, l.params, maxParams)
}

// longSignatures parses the non-test Go files below root, outside the test
// tooling, and returns every function (declared, literal, or a func type such
// as an interface method) taking more than maxParams parameters.
func longSignatures(root string) ([]longSignature, error) {
	fset := token.NewFileSet()
	var out []longSignature
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (under(filepath.ToSlash(rel), testTooling...) || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, filepath.ToSlash(rel), src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out = append(out, fileLongSignatures(fset, f)...)
		return nil
	})
	return out, err
}

func fileLongSignatures(fset *token.FileSet, f *ast.File) []longSignature {
	var out []longSignature
	add := func(pos token.Pos, name string, t *ast.FuncType) {
		if n := countParams(t); n > maxParams {
			out = append(out, longSignature{pos: fset.Position(pos), name: name, params: n})
		}
	}
	seen := map[*ast.FuncType]bool{} // the types of the functions named already
	ast.Inspect(f, func(n ast.Node) bool {
		switch fn := n.(type) {
		case *ast.FuncDecl:
			name := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				name = "(" + types(fn.Recv.List[0].Type) + ")." + name
			}
			add(fn.Pos(), name, fn.Type)
			seen[fn.Type] = true
		case *ast.FuncLit:
			add(fn.Pos(), "func literal", fn.Type)
			seen[fn.Type] = true
		case *ast.FuncType:
			// An interface method, a func-typed field or parameter, a
			// named func type: whoever implements it takes as many.
			if !seen[fn] {
				add(fn.Pos(), "func type", fn)
			}
		}
		return true
	})
	return out
}

// countParams counts named parameters one by one (a, b int is two).
func countParams(t *ast.FuncType) int {
	n := 0
	for _, f := range t.Params.List {
		n += max(1, len(f.Names))
	}
	return n
}

// types names a receiver's type: T, *T, T[K].
func types(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "*" + types(t.X)
	case *ast.IndexExpr:
		return types(t.X)
	case *ast.IndexListExpr:
		return types(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}
