//go:build !race

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
)

// proc is one service running as its own process: `rebalancer <target> --config FILE` with its
// own ops port, its keys from files named in the environment, and its log appended to one file
// across restarts.
type proc struct {
	target  string
	config  string
	env     []string
	logPath string
	opsAddr string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	runs int
}

func newProc(t *testing.T, dir, target, config string, env []string) *proc {
	t.Helper()
	return &proc{target: target, config: config, logPath: filepath.Join(dir, target+".log"),
		// POD_NAME names the planner's durable consumer and the executor's replica, as in Kubernetes:
		// a restart keeps them.
		env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "POD_NAME=" + target + "-0"}, env...)}
}

// start runs the service and waits until its /readyz answers 200.
func (p *proc) start(t *testing.T, ctx context.Context) {
	t.Helper()
	port, err := localinfra.FreePort()
	require.NoError(t, err)
	p.opsAddr = "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	p.runs++
	_, _ = fmt.Fprintf(logf, "=== e2e: start #%d of %s at %s, ops %s\n", p.runs, p.target, time.Now().Format(time.TimeOnly), p.opsAddr)
	cmd := exec.Command(binary, "--log-level", "info", p.target, "--config", p.config, "--ops-addr", p.opsAddr) //nolint:gosec // the binary this test built
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that nothing it starts outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start(), "start %s", p.target)
	p.cmd, p.done = cmd, make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	ready := func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.opsAddr+"/readyz", nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	require.Eventually(t, ready, 90*time.Second, 100*time.Millisecond, "%s never became ready", p.target)
	select {
	case <-p.done:
		t.Fatalf("%s exited at start: %v", p.target, p.err)
	default:
	}
}

// exited reports whether the process has exited, and how.
func (p *proc) exited() (bool, error) {
	if p.done == nil {
		return false, nil
	}
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// kill ends the process with SIGKILL, as a node failure or an OOM kill would: no shutdown at all.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if ok, _ := p.exited(); ok || p.cmd == nil {
		return
	}
	require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL))
	<-p.done
}

// stop ends the process with SIGTERM, as Kubernetes does, and waits for its ordered shutdown;
// SIGKILL after 30s. It returns the exit error of a shutdown that was not clean.
func (p *proc) stop() error {
	if p.cmd == nil {
		return nil
	}
	if ok, err := p.exited(); ok {
		return err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return errors.New("did not stop within 30s of SIGTERM")
	}
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = lines[len(lines)-n:]
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
