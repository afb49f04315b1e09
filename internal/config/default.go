package config

import _ "embed"

//go:embed devnet.yaml
var devnetYAML []byte

// DevnetYAML returns the embedded devnet configuration file, for `rebalancer devnet` and as an
// example to start a real one from.
func DevnetYAML() []byte { return append([]byte(nil), devnetYAML...) }

// Default returns the embedded devnet configuration, parsed and validated. It panics if the
// embedded file is invalid, which a test rules out.
func Default() *Config {
	c, err := Parse(devnetYAML)
	if err != nil {
		panic("config: embedded devnet.yaml is invalid: " + err.Error())
	}
	return c
}
