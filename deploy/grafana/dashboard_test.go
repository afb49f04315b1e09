package grafana_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// exported is a metric the code registers: its kind and labels, as written where it is built.
type exported struct {
	kind   string // counter, gauge, histogram, summary, or const (a collector's prometheus.NewDesc)
	labels []string
	where  string
}

// constructors maps the prometheus constructors that name a metric to the kind they make.
var constructors = map[string]string{
	"NewCounter": "counter", "NewCounterVec": "counter", "NewGauge": "gauge", "NewGaugeVec": "gauge",
	"NewHistogram": "histogram", "NewHistogramVec": "histogram", "NewSummary": "summary", "NewSummaryVec": "summary",
	"NewDesc": "const",
}

// registeredMetrics parses every non-test Go file of the module and returns the metrics built
// with a literal name: prometheus.NewXxx(prometheus.XxxOpts{Name: "..."}, []string{labels}) and
// prometheus.NewDesc("...", help, []string{labels}, nil). Test files do not count: a metric a
// test names but no service builds would leave an empty panel.
func registeredMetrics(t *testing.T, root string) map[string]exported {
	t.Helper()
	out := map[string]exported{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" {
				return true
			}
			kind, ok := constructors[sel.Sel.Name]
			if !ok || len(call.Args) == 0 {
				return true
			}
			var name string
			var labels []string
			if kind == "const" {
				name = stringLit(call.Args[0])
				if len(call.Args) > 2 {
					labels = stringList(call.Args[2])
				}
			} else {
				name = optsName(call.Args[0])
				if len(call.Args) > 1 {
					labels = stringList(call.Args[1])
				}
			}
			if strings.HasPrefix(name, "rebal_") {
				rel, _ := filepath.Rel(root, path)
				out[name] = exported{kind: kind, labels: labels, where: rel + ":" + strconv.Itoa(fset.Position(call.Pos()).Line)}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return out
}

func stringLit(e ast.Expr) string {
	if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
		s, err := strconv.Unquote(bl.Value)
		if err == nil {
			return s
		}
	}
	return ""
}

func optsName(e ast.Expr) string {
	if u, ok := e.(*ast.UnaryExpr); ok {
		e = u.X
	}
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return ""
	}
	for _, el := range cl.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
				return stringLit(kv.Value)
			}
		}
	}
	return ""
}

func stringList(e ast.Expr) []string {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	var out []string
	for _, el := range cl.Elts {
		if s := stringLit(el); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var (
	metricRe  = regexp.MustCompile(`rebal_[a-z_]+`)
	byRe      = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	matcherRe = regexp.MustCompile(`(rebal_[a-z_]+)\{([^}]*)\}`)
	labelRe   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	rateRe    = regexp.MustCompile(`\b(?:rate|irate|increase)\(\s*(rebal_[a-z_]+)`)
)

// TestDashboardQueriesExistingMetrics decodes the dashboard and checks every query against what the
// code registers, so that a renamed metric or label cannot leave a silent empty panel: each metric
// named exists (with _bucket/_sum/_count only on histograms), rate and increase apply to counters
// and histograms only, and every label a query groups or filters by is one its metrics carry.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	raw, err := os.ReadFile("rebalancer.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	registered := registeredMetrics(t, "../..")
	require.Contains(t, registered, "rebal_bus_handled_total", "the parser finds the bus's metrics")

	base := func(name string) (string, exported, bool) {
		if m, ok := registered[name]; ok {
			return name, m, true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, cut := strings.CutSuffix(name, suffix); cut {
				if m, ok := registered[b]; ok && (m.kind == "histogram" || m.kind == "summary" && suffix != "_bucket") {
					return b, m, true
				}
			}
		}
		return "", exported{}, false
	}
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			labels := map[string]bool{}
			for _, name := range metricRe.FindAllString(tg.Expr, -1) {
				b, m, ok := base(name)
				require.True(t, ok, "panel %q queries %s, which no service registers", p.Title, name)
				for _, l := range m.labels {
					labels[l] = true
				}
				if b != name && m.kind == "histogram" {
					labels["le"] = true
				}
			}
			for _, mm := range rateRe.FindAllStringSubmatch(tg.Expr, -1) {
				b, m, _ := base(mm[1])
				series := b != mm[1] // _bucket, _sum or _count of a histogram or summary: counters
				require.True(t, m.kind == "counter" || series, "panel %q takes the rate of %s, a %s", p.Title, mm[1], m.kind)
			}
			var used []string
			for _, by := range byRe.FindAllStringSubmatch(tg.Expr, -1) {
				for _, l := range strings.Split(by[1], ",") {
					if l = strings.TrimSpace(l); l != "" {
						used = append(used, l)
					}
				}
			}
			for _, mm := range matcherRe.FindAllStringSubmatch(tg.Expr, -1) {
				_, m, _ := base(mm[1])
				for _, lm := range labelRe.FindAllStringSubmatch(mm[2], -1) {
					require.True(t, slices.Contains(m.labels, lm[1]), "panel %q filters %s by %s, a label it does not have (%v, %s)", p.Title, mm[1], lm[1], m.labels, m.where)
				}
			}
			for _, l := range used {
				require.True(t, labels[l], "panel %q groups by %s, which none of its metrics carries: %s", p.Title, l, tg.Expr)
			}
		}
	}
}

// TestParserSeesWhatTheCodeRegisters keeps the parser honest on the shapes the code uses: a Vec
// with labels, a plain metric, and a collector's Desc.
func TestParserSeesWhatTheCodeRegisters(t *testing.T) {
	registered := registeredMetrics(t, "../..")
	for name, want := range map[string]exported{
		"rebal_bus_handled_total":             {kind: "counter", labels: []string{"consumer", "class", "outcome"}},
		"rebal_planner_plan_seconds":          {kind: "histogram"},
		"rebal_executor_intents":              {kind: "const", labels: []string{"venue", "state"}},
		"rebal_bus_consumer_pending":          {kind: "gauge", labels: []string{"stream", "consumer"}},
		"rebal_venue_errors_total":            {kind: "counter", labels: []string{"venue", "endpoint", "class"}},
		"rebal_planner_balance":               {kind: "const", labels: []string{"account", "chain", "token", "bound"}},
		"rebal_executor_state_seconds":        {kind: "histogram", labels: []string{"venue", "state"}},
		"rebal_watcher_location_stale":        {kind: "gauge", labels: []string{"location"}},
		"rebal_executor_ledger_in_flight":     {kind: "const", labels: []string{"account", "chain", "token", "direction"}},
		"rebal_planner_intents_decided_total": {kind: "counter"},
	} {
		got, ok := registered[name]
		require.True(t, ok, name)
		require.Equal(t, want.kind, got.kind, name)
		require.Equal(t, want.labels, got.labels, name)
	}
}
