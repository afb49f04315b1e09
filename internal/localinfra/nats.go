package localinfra

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSOptions configure an embedded nats-server.
type NATSOptions struct {
	// StoreDir holds the JetStream file store. Required: the caller owns and removes it.
	StoreDir string
	// Port to listen on; 0 picks a free one.
	Port int
	// Logs turns on the server's own logging (noisy; off by default).
	Logs bool
}

// NATS is an embedded nats-server with JetStream enabled.
type NATS struct {
	mu   sync.Mutex
	opts NATSOptions
	srv  *server.Server
}

// StartNATS starts an embedded nats-server with JetStream on 127.0.0.1.
func StartNATS(opts NATSOptions) (*NATS, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("localinfra: NATSOptions.StoreDir is required")
	}
	if opts.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	n := &NATS{opts: opts}
	if err := n.start(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NATS) start() error {
	so := &server.Options{
		ServerName: "rebal-embedded",
		Host:       "127.0.0.1",
		Port:       n.opts.Port,
		JetStream:  true,
		StoreDir:   n.opts.StoreDir,
		NoSigs:     true,
		NoLog:      !n.opts.Logs,
		// Generous limits: tests publish bursts and the default max payload is fine.
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  4 << 30,
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("localinfra: new nats-server: %w", err)
	}
	if n.opts.Logs {
		srv.ConfigureLogger()
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("localinfra: nats-server on port %d not ready after 10s", n.opts.Port)
	}
	n.srv = srv
	return nil
}

// URL is the client URL, nats://127.0.0.1:<port>.
func (n *NATS) URL() string {
	return "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(n.opts.Port))
}

// Server is the running server (nil while stopped).
func (n *NATS) Server() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Stop shuts the server down and waits for it; its store stays on disk.
func (n *NATS) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Restart stops the server and starts it again on the same port and store, as a crashed and
// restarted NATS node would come back.
func (n *NATS) Restart() error {
	n.Stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.start()
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localinfra: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
