package localinfra

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNoRedisServer means no redis-server binary was found on PATH.
var ErrNoRedisServer = errors.New("redis-server not found on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), or set REDIS_URL")

// RedisOptions configure a redis-server child process.
type RedisOptions struct {
	// Dir is the server's working directory (AOF files live here). Required.
	Dir string
	// Port to listen on; 0 picks a free one.
	Port int
	// AppendOnly turns on AOF with fsync every second, as production runs it, so that a restart
	// keeps what was written.
	AppendOnly bool
	// Binary overrides the redis-server path.
	Binary string
}

// Redis is a redis-server child process on 127.0.0.1.
type Redis struct {
	mu   sync.Mutex
	opts RedisOptions
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server and waits until it answers PING.
func StartRedis(ctx context.Context, opts RedisOptions) (*Redis, error) {
	if opts.Dir == "" {
		return nil, errors.New("localinfra: RedisOptions.Dir is required")
	}
	if opts.Binary == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			return nil, ErrNoRedisServer
		}
		opts.Binary = p
	}
	if opts.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	r := &Redis{opts: opts}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Redis) start(ctx context.Context) error {
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(r.opts.Port),
		"--dir", r.opts.Dir,
		"--save", "",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", filepath.Join(r.opts.Dir, "redis.log"),
	}
	if r.opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(r.opts.Binary, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localinfra: start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done

	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(r.Addr()); err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("localinfra: redis-server exited at start-up; see %s", filepath.Join(r.opts.Dir, "redis.log"))
		case <-ctx.Done():
			r.kill()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("localinfra: redis-server on %s did not answer PING within 10s", r.Addr())
		}
	}
}

// ping speaks just enough RESP to know the server is up, so this package needs no client library.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}

// Addr is host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.opts.Port)) }

// URL is redis://host:port/0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

func (r *Redis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Stop ends the server abruptly (SIGKILL), as a crash would: only what AOF already holds survives.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kill()
}

// Restart kills the server and starts it again on the same port and directory.
func (r *Redis) Restart(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kill()
	return r.start(ctx)
}

// Close stops the server. Its directory is the caller's to remove.
func (r *Redis) Close() error {
	r.Stop()
	return nil
}

// LogTail returns the end of the server's log, for error messages.
func (r *Redis) LogTail() string {
	b, err := os.ReadFile(filepath.Join(r.opts.Dir, "redis.log"))
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
