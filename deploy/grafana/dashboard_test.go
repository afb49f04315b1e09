package grafana_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDashboardQueriesExistingMetrics decodes the dashboard and checks that every metric its
// queries name is one the code registers, so a renamed metric cannot leave a silent empty panel.
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

	out, err := exec.Command("git", "grep", "-h", "-o", "-E", `"rebal_[a-z_]+"`, "--", "../../*.go").Output()
	require.NoError(t, err)
	registered := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		registered[strings.Trim(m, `"`)] = true
	}
	metric := regexp.MustCompile(`rebal_[a-z_]+`)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			for _, name := range metric.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
				require.True(t, registered[base], "panel %q queries %s, which no code registers", p.Title, name)
			}
		}
	}
}
