//go:build !race

package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// binary is the rebalancer binary the tests run as subprocesses, built once by TestMain.
var binary string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode (it builds the binary and runs the whole system)")
		return 0
	}
	dir, err := os.MkdirTemp("", "rebalancer-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	binary = filepath.Join(dir, "rebalancer")
	// A plain build (no -race): the services must keep up with the simulated chains on a loaded
	// two-core machine; every package they link has its own race-checked tests.
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", binary, "github.com/rebalancer-dev/rebalancer/cmd/rebalancer")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the rebalancer binary:", err)
		return 1
	}
	fmt.Printf("e2e: built %s in %s\n", binary, time.Since(start).Round(time.Millisecond))
	return m.Run()
}
