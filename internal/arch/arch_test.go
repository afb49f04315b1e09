package arch_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const mod = "github.com/rebalancer-dev/rebalancer"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// TestImportRules checks each package's direct imports against the boundaries.
func TestImportRules(t *testing.T) {
	std := map[string]bool{}
	for _, p := range list(t, "std") {
		std[p.ImportPath] = true
	}
	for _, p := range list(t, "./...") {
		for _, imp := range p.Imports {
			self := p.ImportPath
			switch {
			case under(self, mod+"/pkg/events"):
				require.True(t, std[imp] || under(imp, mod+"/pkg/events"), "%s must import only the standard library, not %s", self, imp)
			case under(self, mod+"/pkg/pending"):
				require.True(t, std[imp] || under(imp, "github.com/redis/go-redis/v9") || under(imp, mod+"/pkg/pending"),
					"%s may import only the standard library and go-redis, not %s", self, imp)
			}
			if under(imp, mod+"/services") {
				svc := strings.SplitN(strings.TrimPrefix(imp, mod+"/services/"), "/", 2)[0]
				require.True(t, under(self, mod+"/services/"+svc) || under(self, mod+"/cmd") || under(self, mod+"/test"),
					"%s imports service %s: services never import each other and nothing below them imports a service", self, svc)
			}
			if under(imp, mod+"/cmd") && !under(self, mod+"/cmd") {
				t.Errorf("%s imports a command (%s)", self, imp)
			}
			if under(imp, "github.com/nats-io/nats.go") {
				require.True(t, under(self, mod+"/internal/bus") || under(self, mod+"/internal/testenv"),
					"%s imports nats.go: only internal/bus talks to NATS", self)
			}
			if under(imp, "github.com/ethereum/go-ethereum/ethclient") {
				require.True(t, under(self, mod+"/internal/chain") || under(self, mod+"/internal/sim"),
					"%s imports ethclient: only internal/chain (and the simulators) talk to EVM chains", self)
			}
		}
	}
}

// TestProductionBuildCarriesNoSimulator checks DESIGN §9: the image built with -tags nodevnet
// links none of the simulators nor go-ethereum's simulated backend.
func TestProductionBuildCarriesNoSimulator(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "nodevnet", "-deps", "./cmd/rebalancer")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		require.False(t, under(dep, mod+"/internal/sim"), "production build links %s", dep)
		require.False(t, under(dep, "github.com/ethereum/go-ethereum/ethclient/simulated"), "production build links %s", dep)
		require.False(t, under(dep, "github.com/nats-io/nats-server/v2"), "production build links the NATS server: %s", dep)
	}
}
