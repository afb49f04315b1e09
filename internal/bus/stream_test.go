package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestEnsureStream(t *testing.T) {
	tests := []struct {
		name     string
		existing *jetstream.StreamConfig // created before Connect
		cfg      Config
		wantErr  error
		errHas   []string
		check    func(t *testing.T, c jetstream.StreamConfig)
	}{
		{
			name: "fresh server gets the declared stream",
			check: func(t *testing.T, c jetstream.StreamConfig) {
				require.Equal(t, []string{events.SubjectAll}, c.Subjects)
				require.Equal(t, jetstream.FileStorage, c.Storage)
				require.Equal(t, jetstream.LimitsPolicy, c.Retention)
				require.Equal(t, DefaultMaxAge, c.MaxAge)
				require.Equal(t, int64(DefaultMaxBytes), c.MaxBytes)
				require.Equal(t, DefaultDuplicateWindow, c.Duplicates)
				require.Equal(t, 1, c.Replicas)
			},
		},
		{
			name:     "existing stream with other limits is updated",
			existing: &jetstream.StreamConfig{Name: "REBAL", Subjects: []string{"rebal.v1.balances.>"}, Storage: jetstream.FileStorage, MaxAge: time.Hour, Duplicates: time.Minute},
			cfg:      Config{MaxAge: 48 * time.Hour, DuplicateWindow: 20 * time.Minute, MaxBytes: 1 << 20},
			check: func(t *testing.T, c jetstream.StreamConfig) {
				require.Equal(t, []string{events.SubjectAll}, c.Subjects)
				require.Equal(t, 48*time.Hour, c.MaxAge)
				require.Equal(t, 20*time.Minute, c.Duplicates)
				require.Equal(t, int64(1<<20), c.MaxBytes)
			},
		},
		{
			name:     "memory storage cannot be updated to file",
			existing: &jetstream.StreamConfig{Name: "REBAL", Subjects: []string{events.SubjectAll}, Storage: jetstream.MemoryStorage},
			wantErr:  ErrStreamConflict,
			errHas:   []string{"storage Memory", "want File"},
		},
		{
			name:     "work-queue retention would lose the replay",
			existing: &jetstream.StreamConfig{Name: "REBAL", Subjects: []string{events.SubjectAll}, Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy},
			wantErr:  ErrStreamConflict,
			errHas:   []string{"retention WorkQueue"},
		},
		{
			name:     "subjects owned by another stream",
			existing: &jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"rebal.v1.>"}, Storage: jetstream.FileStorage},
			wantErr:  ErrStreamConflict,
			errHas:   []string{"overlap"},
		},
		{
			name:    "replicas beyond a single node",
			cfg:     Config{Replicas: 3},
			wantErr: ErrStreamConflict,
			errHas:  []string{"create stream REBAL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.NATS(t)
			_, js := rawJS(t, srv.URL())
			ctx := ctxTimeout(t, 10*time.Second)
			if tc.existing != nil {
				_, err := js.CreateStream(ctx, *tc.existing)
				require.NoError(t, err)
			}
			cfg := tc.cfg
			cfg.URL, cfg.Name = srv.URL(), "test"
			b, err := Connect(ctx, cfg, zerolog.Nop(), nil)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				for _, s := range tc.errHas {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			s, err := js.Stream(ctx, events.StreamName)
			require.NoError(t, err)
			tc.check(t, s.CachedInfo().Config)

			// Declaring again is a no-op that succeeds.
			require.NoError(t, b.EnsureStream(ctx))
			b2, err := Connect(ctx, cfg, zerolog.Nop(), nil)
			require.NoError(t, err)
			require.NoError(t, b2.Close(ctx))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{URL: "nats://127.0.0.1:4222", Name: "planner"}
	tests := []struct {
		name   string
		mutate func(*Config)
		errHas string
	}{
		{"defaults are valid", func(*Config) {}, ""},
		{"no url", func(c *Config) { c.URL = " " }, "url is empty"},
		{"no name", func(c *Config) { c.Name = "" }, "name is empty"},
		{"name with a dot would split the DLQ subject", func(c *Config) { c.Name = "plan.ner" }, "only letters"},
		{"creds and nkey together", func(c *Config) { c.CredsFile, c.NKeyFile = "a", "b" }, "exclusive"},
		{"cert without key", func(c *Config) { c.TLSCert = "c.pem" }, "go together"},
		{"duplicate window under 10 minutes", func(c *Config) { c.DuplicateWindow = 9 * time.Minute }, "at least 10m0s"},
		{"duplicate window longer than max age", func(c *Config) { c.MaxAge = 11 * time.Minute; c.DuplicateWindow = 12 * time.Minute }, "longer than maxAge"},
		{"replicas out of range", func(c *Config) { c.Replicas = 7 }, "replicas 7"},
		{"negative bytes", func(c *Config) { c.MaxBytes = -1 }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.withDefaults().validate()
			if tc.errHas == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, tc.errHas)
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:s3cret@nats:4222", "nats://[redacted]@nats:4222"},
		{"tls://a:b@n1:4222,nats://n2:4222", "tls://[redacted]@n1:4222,nats://n2:4222"},
		{"tok@nats:4222", "[redacted]@nats:4222"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, redactURL(tc.in))
		})
	}
}
