package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testkit is the test support every test may import and production code
// outside it may not.
const testkit = "internal/testkit/..."

// A rule says what the packages matching pkgs may import from the module.
type rule struct {
	pkgs    []string
	imports []string // for non-test files
	tests   []string // for _test.go files, besides imports and testkit
}

// A pkg is one package of the module, its path relative to the module root.
type pkg struct {
	path    string
	imports []edge // imports of the module's packages only
}

// An edge is one import of a module package by one file.
type edge struct {
	to   string
	at   string // file:line, relative to the module root
	test bool   // the file is a _test.go file
}

func (p pkg) importsPkg(to string, test bool) bool {
	return slices.ContainsFunc(p.imports, func(e edge) bool { return e.to == to && e.test == test })
}

func (r rule) allows(e edge) bool {
	if matchAny(r.imports, e.to) {
		return true
	}
	return e.test && (match(testkit, e.to) || matchAny(r.tests, e.to))
}

func match(pattern, path string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

func ruleFor(rules []rule, path string) (rule, bool) {
	for _, r := range rules {
		if matchAny(r.pkgs, path) {
			return r, true
		}
	}
	return rule{}, false
}

// check returns one line per package without a rule, per forbidden edge
// (with every file that makes it) and per import cycle among non-test files.
func check(pkgs []pkg, rules []rule) []string {
	var problems []string
	for _, p := range pkgs {
		r, ok := ruleFor(rules, p.path)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no rule says what it may import; add a row to the table and a paragraph to docs/ARCHITECTURE.md", p.path))
			continue
		}
		forbidden := map[string][]string{}
		for _, e := range p.imports {
			if e.to != p.path && !r.allows(e) { // an external test imports its own package
				forbidden[e.to] = append(forbidden[e.to], e.at)
			}
		}
		for _, to := range slices.Sorted(maps.Keys(forbidden)) {
			problems = append(problems, fmt.Sprintf("%s → %s (%s); %s may import %s",
				p.path, to, strings.Join(forbidden[to], ", "), p.path, describe(r)))
		}
	}
	return append(problems, cycles(pkgs)...)
}

func describe(r rule) string {
	tests := append(of(testkit), r.tests...)
	return names(r.imports) + "; its tests also " + names(tests)
}

func names(patterns []string) string {
	switch {
	case len(patterns) == 0:
		return "nothing of the module"
	case slices.Contains(patterns, "..."):
		return "any package of the module"
	}
	return strings.Join(patterns, ", ")
}

// cycles reports the import cycles among non-test files, one per edge that
// closes one. The compiler refuses them too; a cycle here means the table
// allows an edge both ways.
func cycles(pkgs []pkg) []string {
	graph := map[string][]string{}
	for _, p := range pkgs {
		for _, e := range p.imports {
			if !e.test && !slices.Contains(graph[p.path], e.to) {
				graph[p.path] = append(graph[p.path], e.to)
			}
		}
	}
	var found []string
	done := map[string]bool{}
	var stack []string // the packages being walked, outermost first
	var walk func(from string)
	walk = func(from string) {
		stack = append(stack, from)
		for _, to := range graph[from] {
			if i := slices.Index(stack, to); i >= 0 {
				found = append(found, "import cycle: "+strings.Join(append(slices.Clone(stack[i:]), to), " → "))
			} else if !done[to] {
				walk(to)
			}
		}
		stack = stack[:len(stack)-1]
		done[from] = true
	}
	for _, p := range slices.Sorted(maps.Keys(graph)) {
		if !done[p] {
			walk(p)
		}
	}
	return found
}

// listed is the part of `go list -json` the test reads.
type listed struct {
	ImportPath string
	Dir        string
	Module     *struct{ Path string }
	GoFiles    []string
	CgoFiles   []string
	// IgnoredGoFiles are the files other build tags or platforms select
	// (testhooks, e2e, bench, !linux): checked like the rest.
	IgnoredGoFiles []string
	TestGoFiles    []string
	XTestGoFiles   []string
	Error          *struct{ Err string }
}

// loadModule lists the module's packages with the go command that runs the
// test (go test puts its GOROOT/bin first on PATH) and reads each file's
// imports.
func loadModule(t *testing.T) []pkg {
	t.Helper()
	gomod := strings.TrimSpace(run(t, "", "env", "GOMOD"))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatalf("go env GOMOD = %q: not inside the module", gomod)
	}
	root := filepath.Dir(gomod)
	dec := json.NewDecoder(strings.NewReader(run(t, root, "list", "-e", "-find", "-json", "./...")))
	var pkgs []pkg
	for {
		var l listed
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list -json: %v", err)
		}
		if l.Error != nil {
			t.Errorf("go list: %s: %s", l.ImportPath, l.Error.Err)
		}
		if l.Module == nil {
			t.Fatalf("go list: %s has no module", l.ImportPath)
		}
		p, err := readPackage(root, l.Module.Path, l)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the packages: %v", err)
	}
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func readPackage(root, module string, l listed) (pkg, error) {
	p := pkg{path: relative(module, l.ImportPath)}
	files := join(l.GoFiles, l.CgoFiles, l.IgnoredGoFiles, l.TestGoFiles, l.XTestGoFiles)
	fset := token.NewFileSet()
	for _, name := range files {
		file := filepath.Join(l.Dir, name)
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			return pkg{}, fmt.Errorf("reading the imports of %s: %w", file, err)
		}
		rel, err := filepath.Rel(root, file)
		if err != nil {
			return pkg{}, fmt.Errorf("%s outside the module at %s: %w", file, root, err)
		}
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return pkg{}, fmt.Errorf("%s: import %s: %w", file, spec.Path.Value, err)
			}
			if path != module && !strings.HasPrefix(path, module+"/") {
				continue
			}
			p.imports = append(p.imports, edge{
				to:   relative(module, path),
				at:   fmt.Sprintf("%s:%d", filepath.ToSlash(rel), fset.Position(spec.Pos()).Line),
				test: strings.HasSuffix(name, "_test.go"),
			})
		}
	}
	return p, nil
}

func relative(module, importPath string) string {
	if importPath == module {
		return "."
	}
	return strings.TrimPrefix(importPath, module+"/")
}

// TestCheck shows the checker catching what it should on small graphs, so
// that the architecture test cannot pass by checking nothing.
func TestCheck(t *testing.T) {
	fake := []rule{
		{pkgs: of("event")},
		{pkgs: of("storage"), imports: of("event")},
		{pkgs: of("screen"), imports: of("storage", "event"), tests: anything},
		{pkgs: of("a", "b"), imports: of("a", "b")},
		{pkgs: of(testkit), imports: of(testkit)},
	}
	cases := []struct {
		name  string
		rules []rule
		pkgs  []pkg
		want  []string // one substring per problem, in order
	}{
		{name: "allowed edges", rules: fake, pkgs: []pkg{
			{path: "event"},
			{path: "storage", imports: []edge{{to: "event", at: "storage/store.go:5"}}},
			{path: "screen", imports: []edge{{to: "storage", at: "screen/screen.go:7"}, {to: "event", at: "screen/screen.go:8"}}},
		}},
		{name: "a forbidden edge, named with its files", rules: fake, pkgs: []pkg{
			{path: "storage", imports: []edge{
				{to: "screen", at: "storage/store.go:5"},
				{to: "screen", at: "storage/store_test.go:9", test: true},
			}},
		}, want: of("storage → screen (storage/store.go:5, storage/store_test.go:9); storage may import event")},
		{name: "a package without a rule", rules: fake, pkgs: []pkg{{path: "newpkg"}},
			want: of("newpkg: no rule says what it may import")},
		{name: "test support in production code", rules: fake, pkgs: []pkg{
			{path: "storage", imports: []edge{{to: "internal/testkit/poll", at: "storage/open.go:3"}}},
		}, want: of("storage → internal/testkit/poll (storage/open.go:3)")},
		{name: "tests may import test support and their extra rows", rules: fake, pkgs: []pkg{
			{path: "storage", imports: []edge{{to: "internal/testkit/poll", at: "storage/open_test.go:3", test: true}}},
			{path: "screen", imports: []edge{{to: "a", at: "screen/screen_test.go:3", test: true}}},
			{path: "internal/testkit/poll", imports: []edge{{to: "internal/testkit/ci", at: "internal/testkit/poll/poll.go:3"}}},
		}},
		{name: "an external test imports its own package", rules: fake, pkgs: []pkg{
			{path: "event", imports: []edge{{to: "event", at: "event/example_test.go:3", test: true}}},
		}},
		{name: "an import cycle the table allows", rules: fake, pkgs: []pkg{
			{path: "a", imports: []edge{{to: "b", at: "a/a.go:3"}}},
			{path: "b", imports: []edge{{to: "a", at: "b/b.go:3"}}},
		}, want: of("import cycle: a → b → a")},
		{name: "the real table: components never import the configuration", rules: rules, pkgs: []pkg{
			{path: "pipeline", imports: []edge{{to: "internal/config", at: "pipeline/params.go:4"}}},
			{path: "internal/schoolday", imports: []edge{{to: "internal/config", at: "internal/schoolday/day.go:4"}}},
			{path: "internal/daemon", imports: []edge{{to: "internal/config", at: "internal/daemon/build.go:4"}}},
		}, want: of("pipeline → internal/config (pipeline/params.go:4)", "internal/schoolday → internal/config")},
		{name: "the real table: the device layer", rules: rules, pkgs: []pkg{
			{path: "drivers/badge", imports: []edge{{to: "drivers/lineproto", at: "drivers/badge/badge.go:4"}, {to: "pipeline", at: "drivers/badge/badge.go:5"}}},
			{path: "drivers/thermal", imports: []edge{{to: "drivers/sim", at: "drivers/thermal/track_test.go:4", test: true}}},
			{path: "event", imports: []edge{{to: "drivers", at: "event/event.go:4"}}},
		}, want: of("drivers/badge → pipeline", "event → drivers (event/event.go:4); event may import nothing of the module")},
		{name: "the real table: production code never imports test support", rules: rules, pkgs: []pkg{
			{path: "cmd/gatescreen", imports: []edge{{to: "internal/testkit/syncbuf", at: "cmd/gatescreen/testhooks.go:9"}}},
			{path: "storage", imports: []edge{{to: "internal/testkit/syncbuf", at: "storage/store_test.go:9", test: true}}},
		}, want: of("cmd/gatescreen → internal/testkit/syncbuf (cmd/gatescreen/testhooks.go:9)")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := check(c.pkgs, c.rules)
			if len(got) != len(c.want) {
				t.Fatalf("check found %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], c.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], c.want[i])
				}
			}
		})
	}
}
