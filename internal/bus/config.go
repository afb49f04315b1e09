package bus

import (
	"fmt"
	"strings"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultMaxBytes        = 2 << 30 // 2 GiB: weeks of events at ~1 KB each; size it to the volume
	DefaultDuplicateWindow = 15 * time.Minute
	MinDuplicateWindow     = 10 * time.Minute
	DefaultReconnectWait   = time.Second
	DefaultPublishTimeout  = 5 * time.Second
	DefaultStallWait       = 5 * time.Second
)

// Config says where NATS is and how the REBAL stream is declared. Secrets are named by file, never
// carried inline.
type Config struct {
	// URL is one or more NATS URLs, comma separated.
	URL string `yaml:"url"`
	// Name is the service's name ("planner"): the connection name NATS shows, the <service> of
	// the DLQ subject and the de-duplication key of its dead letters. Letters, digits, '-', '_'.
	Name string `yaml:"name"`

	// CredsFile is a NATS .creds file (JWT and nkey seed). NKeyFile is an nkey seed file. Use one.
	CredsFile string `yaml:"credsFile"`
	NKeyFile  string `yaml:"nkeyFile"`
	// TLSCA verifies the server; TLSCert and TLSKey are the client certificate for mutual TLS.
	TLSCA   string `yaml:"tlsCA"`
	TLSCert string `yaml:"tlsCert"`
	TLSKey  string `yaml:"tlsKey"`

	// Replicas of the stream: 1 on one node, 3 in a cluster. Zero means 1.
	Replicas int `yaml:"replicas"`
	// MaxAge and MaxBytes bound the stream (oldest messages go first). Zero means the default.
	MaxAge   time.Duration `yaml:"maxAge"`
	MaxBytes int64         `yaml:"maxBytes"`
	// DuplicateWindow is how long a Nats-Msg-Id is remembered; at least MinDuplicateWindow.
	DuplicateWindow time.Duration `yaml:"duplicateWindow"`

	// ReconnectWait is the pause between reconnect attempts (reconnects never give up).
	ReconnectWait time.Duration `yaml:"reconnectWait"`
	// PublishTimeout bounds one publish attempt when the caller's context has no deadline.
	PublishTimeout time.Duration `yaml:"publishTimeout"`
	// StallWait is how long an async publish may wait for room among pending acks.
	StallWait time.Duration `yaml:"stallWait"`
}

func (c Config) withDefaults() Config {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.StallWait == 0 {
		c.StallWait = DefaultStallWait
	}
	return c
}

func (c Config) validate() error {
	if strings.TrimSpace(c.URL) == "" {
		return fmt.Errorf("%w: url is empty", ErrConfig)
	}
	if err := validName("name", c.Name); err != nil {
		return err
	}
	if c.CredsFile != "" && c.NKeyFile != "" {
		return fmt.Errorf("%w: credsFile and nkeyFile are exclusive", ErrConfig)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: tlsCert and tlsKey go together", ErrConfig)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("%w: replicas %d, want 1 to 5", ErrConfig, c.Replicas)
	}
	if c.MaxAge < 0 || c.MaxBytes < 0 {
		return fmt.Errorf("%w: maxAge and maxBytes must not be negative", ErrConfig)
	}
	if c.DuplicateWindow < MinDuplicateWindow {
		return fmt.Errorf("%w: duplicateWindow %s, want at least %s", ErrConfig, c.DuplicateWindow, MinDuplicateWindow)
	}
	if c.DuplicateWindow > c.MaxAge {
		return fmt.Errorf("%w: duplicateWindow %s longer than maxAge %s", ErrConfig, c.DuplicateWindow, c.MaxAge)
	}
	if c.ReconnectWait < 0 || c.PublishTimeout < 0 || c.StallWait < 0 {
		return fmt.Errorf("%w: durations must not be negative", ErrConfig)
	}
	return nil
}

// validName accepts names that are safe as a subject token and a consumer name.
func validName(field, s string) error {
	if s == "" {
		return fmt.Errorf("%w: %s is empty", ErrConfig, field)
	}
	if len(s) > 64 {
		return fmt.Errorf("%w: %s %q longer than 64", ErrConfig, field, s)
	}
	for _, c := range s {
		ok := c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("%w: %s %q: only letters, digits, '-' and '_'", ErrConfig, field, s)
		}
	}
	return nil
}
