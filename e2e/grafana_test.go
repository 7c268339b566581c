//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// scrapeLabels are the labels the district's Prometheus adds per target
// (docs/grafana/README.md), on top of the box's own.
var scrapeLabels = map[string]bool{"district": true, "school": true, "gate": true, "instance": true, "job": true}

var (
	metricRe  = regexp.MustCompile(`\bgatescreen_[a-z0-9_]+`)
	matcherRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	groupRe   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	legendRe  = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

// #20 item 10: every panel of the Grafana dashboards names only metrics and
// labels a live box exports (or the scrape adds), so no panel is blank on a
// real fleet.
func TestGrafanaDashboardsNameRealMetrics(t *testing.T) {
	port := mosquittotest.FreePort(t)
	mq := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	mq.Start()
	r := newRig(t, scenario(t, quietGate), func(c *config.Config) { c.Uplink.Broker = mq.URL("tcp") })
	r.start(true)
	waitFor(t, "a reading and an acknowledgement on /metrics", func() bool {
		m := getText(t, r.metrics)
		return strings.Contains(m, "gatescreen_body_temperature_celsius_count") && !strings.Contains(m, "gatescreen_uplink_last_ack_timestamp_seconds 0\n")
	})
	families := scrape(t, r.metrics)
	// promtool check metrics runs this linter: the live page, not a
	// registry of fakes, is what a district's Prometheus scrapes.
	problems, err := promlint.New(strings.NewReader(getText(t, r.metrics))).Lint()
	if err != nil {
		t.Fatalf("linting the live /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("live /metrics: %s: %s", p.Metric, p.Text)
	}
	r.stop()

	for _, file := range []string{"../docs/grafana/box.json", "../docs/grafana/district.json"} {
		exprs := dashboardExprs(t, file)
		if len(exprs) < 5 {
			t.Fatalf("%s: %d queries", file, len(exprs))
		}
		for _, e := range exprs {
			names := metricRe.FindAllString(e.expr, -1)
			if len(names) == 0 {
				t.Errorf("%s %q: no gatescreen metric in %s", file, e.panel, e.expr)
			}
			labels := map[string]bool{} // of every metric the query names
			for _, name := range names {
				ls, ok := familyLabels(families, name)
				if !ok {
					t.Errorf("%s %q: %s is not on a live box's /metrics", file, e.panel, name)
				}
				for l := range ls {
					labels[l] = true
				}
			}
			used := append(matcherRe.FindAllStringSubmatch(e.expr, -1), legendRe.FindAllStringSubmatch(e.legend, -1)...)
			for _, g := range groupRe.FindAllStringSubmatch(e.expr, -1) {
				for _, l := range strings.Split(g[1], ",") {
					used = append(used, []string{"", strings.TrimSpace(l)})
				}
			}
			for _, u := range used {
				if l := u[1]; l != "" && !labels[l] && !scrapeLabels[l] {
					t.Errorf("%s %q: label %q is neither on %v nor a scrape label", file, e.panel, l, names)
				}
			}
		}
	}
}

type dashboardExpr struct{ panel, expr, legend string }

func dashboardExprs(t *testing.T, file string) []dashboardExpr {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr   string `json:"expr"`
				Legend string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []dashboardExpr
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, dashboardExpr{p.Title, tg.Expr, tg.Legend})
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, dashboardExpr{"variable", v.Query, ""})
	}
	return out
}

// scrape parses a live /metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// familyLabels finds the family of a series name (a histogram's _bucket,
// _sum and _count belong to it) and returns the labels its series carry.
func familyLabels(fams map[string]*dto.MetricFamily, name string) (map[string]bool, bool) {
	f, ok := fams[name]
	extra := ""
	if !ok {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, cut := strings.CutSuffix(name, suffix); cut {
				if f, ok = fams[base]; ok && f.GetType() == dto.MetricType_HISTOGRAM {
					if suffix == "_bucket" {
						extra = "le"
					}
					break
				}
				ok = false
			}
		}
	}
	if !ok {
		return nil, false
	}
	labels := map[string]bool{}
	if extra != "" {
		labels[extra] = true
	}
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = true
		}
	}
	return labels, true
}
