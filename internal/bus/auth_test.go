package bus

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// startServer runs a nats-server with JetStream and the given auth/TLS options on a free port.
func startServer(t *testing.T, mutate func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	mutate(opts)
	srv, err := server.NewServer(opts)
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second))
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// syncBuffer is a log sink the bus's goroutines can write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNKeyAuthNeverLogsTheSeed(t *testing.T) {
	kp, err := nkeys.CreateUser()
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	pub, err := kp.PublicKey()
	require.NoError(t, err)
	srv := startServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	url := srv.ClientURL()

	dir := t.TempDir()
	seedFile := filepath.Join(dir, "user.nk")
	require.NoError(t, os.WriteFile(seedFile, seed, 0o600))
	badSeed := "SUBOGUSSEEDTHATMUSTNOTLEAK"
	badFile := filepath.Join(dir, "bad.nk")
	require.NoError(t, os.WriteFile(badFile, []byte(badSeed), 0o600))

	var logs syncBuffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	ctx := ctxTimeout(t, 20*time.Second)

	tests := []struct {
		name    string
		cfg     Config
		wantErr error
		secret  string
	}{
		{"seed file authenticates", Config{URL: url, NKeyFile: seedFile}, nil, string(seed)},
		{"no credentials are refused", Config{URL: url}, nil, ""},
		{"unreadable seed names the file, not its content", Config{URL: url, NKeyFile: badFile}, ErrConfig, badSeed},
		{"password in the URL stays out of errors", Config{URL: "nats://alice:hunter2@" + srv.Addr().String()}, nil, "hunter2"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Name = "auth"
			b, err := Connect(ctx, cfg, log, nil)
			switch {
			case i == 0:
				require.NoError(t, err)
				_, err = b.Publish(ctx, watermark(1))
				require.NoError(t, err)
				require.NoError(t, b.Close(ctx))
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, tc.cfg.NKeyFile)
			default:
				require.Error(t, err)
				require.ErrorContains(t, err, "uthorization")
			}
			if tc.secret != "" {
				if err != nil {
					require.NotContains(t, err.Error(), tc.secret)
				}
				require.NotContains(t, logs.String(), tc.secret)
			}
		})
	}
	require.Contains(t, logs.String(), "bus connected", "the logs were captured")
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	srvCert, srvKey := newLeaf(t, ca, caKey, "server", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := newLeaf(t, ca, caKey, "client", x509.ExtKeyUsageClientAuth)
	cliCertFile := writePEM(t, dir, "client.pem", "CERTIFICATE", cliCert.Raw)
	cliKeyFile := writePEM(t, dir, "client.key", "EC PRIVATE KEY", cliKey)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := startServer(t, func(o *server.Options) {
		o.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: mustParseKey(t, srvKey)}},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		}
		o.TLSVerify = true
		o.TLS = true
	})
	url := "tls://" + srv.Addr().String()
	ctx := ctxTimeout(t, 20*time.Second)

	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"CA and client certificate", Config{TLSCA: caFile, TLSCert: cliCertFile, TLSKey: cliKeyFile}, true},
		{"no client certificate", Config{TLSCA: caFile}, false},
		{"server not trusted", Config{TLSCert: cliCertFile, TLSKey: cliKeyFile}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.URL, cfg.Name = url, "tls"
			b, err := Connect(ctx, cfg, zerolog.Nop(), nil)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			res, err := b.Publish(ctx, watermark(1))
			require.NoError(t, err)
			require.Equal(t, uint64(1), res.Seq)
			require.NoError(t, b.Close(ctx))
		})
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rebal test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, key
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, usage x509.ExtKeyUsage) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return cert, keyDER
}

func mustParseKey(t *testing.T, der []byte) *ecdsa.PrivateKey {
	t.Helper()
	k, err := x509.ParseECPrivateKey(der)
	require.NoError(t, err)
	return k
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return p
}
