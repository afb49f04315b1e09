package k8s_test

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// dockerfile is the root Dockerfile reduced to its instructions, continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return out
}

// TestImageMatchesManifests checks what the manifests assume of the image (the Docker engine is
// not available to build it here): a static, simulator-free binary at /rebalancer, run by the
// non-root user the pods declare, built with the Go version go.mod names.
func TestImageMatchesManifests(t *testing.T) {
	lines := dockerfile(t)
	var stages [][]string
	for _, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			stages = append(stages, nil)
		}
		require.NotEmpty(t, stages, "an instruction before FROM: %s", l)
		stages[len(stages)-1] = append(stages[len(stages)-1], l)
	}
	require.Len(t, stages, 2, "a build stage and a runtime stage")
	build, final := strings.Join(stages[0], "\n"), stages[1]

	gomod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	require.NotNil(t, goVersion)
	require.Regexp(t, `^FROM (--platform=\S+ )?golang:`+regexp.QuoteMeta(string(goVersion[1]))+`\b`, stages[0][0], "the builder runs go.mod's Go")
	require.Contains(t, build, "CGO_ENABLED=0", "a static binary")
	require.Regexp(t, `go build [^\n]*-tags nodevnet`, build, "no simulators in the production image")
	require.Regexp(t, `go build [^\n]*-o /out/rebalancer \./cmd/rebalancer`, build)

	require.Regexp(t, `^FROM (gcr\.io/distroless/static\S*:nonroot|scratch)$`, final[0], "a static base without a shell")
	want := map[string]bool{
		"COPY --from=build /out/rebalancer /rebalancer":   false,
		fmt.Sprintf("USER %d:%d", nonRootUID, nonRootUID): false,
		`ENTRYPOINT ["/rebalancer"]`:                      false,
		"EXPOSE 8080":                                     false,
	}
	for _, l := range final[1:] {
		_, ok := want[l]
		require.True(t, ok, "unexpected instruction in the runtime stage: %s", l)
		want[l] = true
	}
	for l, seen := range want {
		require.True(t, seen, "runtime stage lacks %s", l)
	}

	ignore, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	entries := strings.Fields(string(regexp.MustCompile(`(?m)#.*$`).ReplaceAll(ignore, nil)))
	for _, e := range []string{".git", "**/node_modules", ".env"} {
		require.Contains(t, entries, e, ".dockerignore")
	}
	for _, e := range entries {
		require.NotContains(t, []string{"go.mod", "go.sum", "cmd", "internal", "pkg", "services", "*.go", "**/*.go"}, e,
			".dockerignore must keep what the build needs")
	}
}
