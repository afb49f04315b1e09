package k8s_test

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The deployment conventions the binary implements (cmd/rebalancer): keep them in one place.
const (
	imageRepo  = "ghcr.io/rebalancer-dev/rebalancer"
	opsPort    = 8080
	configPath = "/etc/rebalancer/config.yaml"
	secretDir  = "/var/run/secrets/rebalancer"
	nonRootUID = 65532 // distroless "nonroot", the Dockerfile's USER
	monitoring = "monitoring"
)

// components are the three Deployments and the replicas each must run (see the comments in
// base/*.yaml for why).
var components = map[string]int32{"balancewatcher": 1, "planner": 2, "executor": 2}

// operatorSecrets are the Secrets the manifests reference but never contain: the operator creates
// them (README.md says how). Every key a manifest references must be listed here.
var operatorSecrets = map[string][]string{
	"rebalancer-keys":         {"binance-api-key", "binance-api-secret", "hyperliquid-private-key", "evm-private-key"},
	"rebalancer-watcher-keys": {"binance-read-api-key", "binance-read-api-secret"},
	"rebalancer-nats":         {"nats.creds"},
	"rebalancer-redis":        {"redis-url"},
}

// executorKeyFiles maps the executor's *_FILE variables to the rebalancer-keys key they name.
var executorKeyFiles = map[string]string{
	"BINANCE_API_KEY_FILE":         "binance-api-key",
	"BINANCE_API_SECRET_FILE":      "binance-api-secret",
	"HYPERLIQUID_PRIVATE_KEY_FILE": "hyperliquid-private-key",
	"EVM_PRIVATE_KEY_FILE":         "evm-private-key",
}

// watcherKeyFiles maps the balance watcher's *_FILE variables to the rebalancer-watcher-keys key
// they name: a read-only Binance key, never the executor's.
var watcherKeyFiles = map[string]string{
	"BINANCE_API_KEY_FILE":    "binance-read-api-key",
	"BINANCE_API_SECRET_FILE": "binance-read-api-secret",
}

type overlay struct {
	name      string
	namespace string
	devInfra  bool // runs its own NATS and Redis
	natsCreds bool // NATS_CREDS_FILE set, rebalancer-nats required
	dryRun    bool // the executor's dry run forced on (EXECUTOR_DRY_RUN)
}

var overlays = []overlay{
	{name: "dev", namespace: "rebalancer-dev", devInfra: true, dryRun: true},
	{name: "prod", namespace: "rebalancer", natsCreds: true},
}

// workload is a Deployment or StatefulSet, reduced to what the cross-references need.
type workload struct {
	kind     string
	name     string
	replicas int32
	selector *metav1.LabelSelector
	pod      corev1.PodTemplateSpec
}

// manifests is one rendered overlay, every object decoded strictly into its API type.
type manifests struct {
	namespaces      []corev1.Namespace
	serviceAccounts map[string]corev1.ServiceAccount
	configMaps      map[string]corev1.ConfigMap
	services        map[string]corev1.Service
	deployments     map[string]appsv1.Deployment
	statefulSets    map[string]appsv1.StatefulSet
	pdbs            map[string]policyv1.PodDisruptionBudget
	policies        map[string]networkingv1.NetworkPolicy
	workloads       []workload
	objects         []metav1.Object
}

// put decodes b strictly into a new T (unknown or duplicate fields are errors) and stores it in m
// under its name, refusing a second object of the same kind and name.
func put[T any, P interface {
	*T
	metav1.Object
}](t *testing.T, m *manifests, into map[string]T, b []byte) P {
	t.Helper()
	var v T
	require.NoError(t, yaml.UnmarshalStrict(b, &v), "decode strictly:\n%s", b)
	p := P(&v)
	_, dup := into[p.GetName()]
	require.False(t, dup, "two objects named %s", p.GetName())
	into[p.GetName()] = v
	m.objects = append(m.objects, p)
	return p
}

func render(t *testing.T, dir string) *manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	m := &manifests{
		serviceAccounts: map[string]corev1.ServiceAccount{},
		configMaps:      map[string]corev1.ConfigMap{},
		services:        map[string]corev1.Service{},
		deployments:     map[string]appsv1.Deployment{},
		statefulSets:    map[string]appsv1.StatefulSet{},
		pdbs:            map[string]policyv1.PodDisruptionBudget{},
		policies:        map[string]networkingv1.NetworkPolicy{},
	}
	namespaces := map[string]corev1.Namespace{}
	for _, r := range res.Resources() {
		b, err := r.AsYAML()
		require.NoError(t, err)
		gvk := r.GetApiVersion() + "/" + r.GetKind()
		switch gvk {
		case "v1/Namespace":
			put(t, m, namespaces, b)
		case "v1/ServiceAccount":
			put(t, m, m.serviceAccounts, b)
		case "v1/ConfigMap":
			put(t, m, m.configMaps, b)
		case "v1/Service":
			put(t, m, m.services, b)
		case "apps/v1/Deployment":
			d := put(t, m, m.deployments, b)
			m.workloads = append(m.workloads, workload{"Deployment", d.Name, ptrOr(d.Spec.Replicas, 1), d.Spec.Selector, d.Spec.Template})
		case "apps/v1/StatefulSet":
			s := put(t, m, m.statefulSets, b)
			m.workloads = append(m.workloads, workload{"StatefulSet", s.Name, ptrOr(s.Spec.Replicas, 1), s.Spec.Selector, s.Spec.Template})
		case "policy/v1/PodDisruptionBudget":
			put(t, m, m.pdbs, b)
		case "networking.k8s.io/v1/NetworkPolicy":
			put(t, m, m.policies, b)
		default:
			t.Fatalf("%s: unexpected object %s %s: add it to the test's decoder", dir, gvk, r.GetName())
		}
	}
	for _, ns := range namespaces {
		m.namespaces = append(m.namespaces, ns)
	}
	return m
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func selector(t *testing.T, s *metav1.LabelSelector) labels.Selector {
	t.Helper()
	require.NotNil(t, s, "nil selector")
	sel, err := metav1.LabelSelectorAsSelector(s)
	require.NoError(t, err)
	require.False(t, sel.Empty(), "empty selector selects everything")
	return sel
}

// selected returns the workloads whose pods s selects.
func (m *manifests) selected(t *testing.T, s *metav1.LabelSelector) []workload {
	t.Helper()
	sel := selector(t, s)
	var out []workload
	for _, w := range m.workloads {
		if sel.Matches(labels.Set(w.pod.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func (m *manifests) component(t *testing.T, name string) appsv1.Deployment {
	t.Helper()
	d, ok := m.deployments["rebalancer-"+name]
	require.True(t, ok, "no Deployment rebalancer-%s", name)
	return d
}

func TestOverlaysRenderAndDecodeStrictly(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			m := render(t, "overlays/"+o.name)
			require.Len(t, m.namespaces, 1)
			ns := m.namespaces[0]
			require.Equal(t, o.namespace, ns.Name)
			require.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"],
				"the namespace enforces the restricted pod security standard")
			for _, obj := range m.objects {
				if _, isNS := obj.(*corev1.Namespace); isNS {
					continue
				}
				require.Equal(t, o.namespace, obj.GetNamespace(), "%s is outside the overlay's namespace", obj.GetName())
				require.Empty(t, validation.IsDNS1123Subdomain(obj.GetName()), obj.GetName())
				for k, v := range obj.GetLabels() {
					require.Empty(t, validation.IsQualifiedName(k), "label key %q", k)
					require.Empty(t, validation.IsValidLabelValue(v), "label %s=%q", k, v)
				}
			}
			for name := range components {
				m.component(t, name)
			}
			if o.devInfra {
				require.Contains(t, m.statefulSets, "nats")
				require.Contains(t, m.statefulSets, "redis")
			} else {
				require.Empty(t, m.statefulSets, "prod uses the operator's NATS and Redis")
			}
		})
	}
}

// TestPodsAreHardened holds for every workload: non-root, read-only root filesystem, no
// privilege escalation, no capabilities, a seccomp profile, requests and a memory limit, probes.
func TestPodsAreHardened(t *testing.T) {
	for _, o := range overlays {
		m := render(t, "overlays/"+o.name)
		for _, w := range m.workloads {
			t.Run(o.name+"/"+w.name, func(t *testing.T) {
				sel := selector(t, w.selector)
				require.True(t, sel.Matches(labels.Set(w.pod.Labels)), "%s's selector does not match its pods", w.name)
				spec := w.pod.Spec
				require.NotNil(t, spec.AutomountServiceAccountToken)
				require.False(t, *spec.AutomountServiceAccountToken, "no pod here calls the Kubernetes API")
				if spec.ServiceAccountName != "" {
					require.Contains(t, m.serviceAccounts, spec.ServiceAccountName)
				}
				psc := spec.SecurityContext
				require.NotNil(t, psc)
				require.NotNil(t, psc.SeccompProfile)
				require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
				require.Empty(t, spec.InitContainers)
				require.NotEmpty(t, spec.Containers)
				for _, c := range spec.Containers {
					sc := c.SecurityContext
					require.NotNil(t, sc, c.Name)
					nonRoot := ptrOr(sc.RunAsNonRoot, ptrOr(psc.RunAsNonRoot, false))
					require.True(t, nonRoot, "%s: runAsNonRoot", c.Name)
					uid := ptrOr(sc.RunAsUser, ptrOr(psc.RunAsUser, 0))
					require.NotZero(t, uid, "%s: a numeric non-root user, so the kubelet can verify it", c.Name)
					require.True(t, ptrOr(sc.ReadOnlyRootFilesystem, false), "%s: readOnlyRootFilesystem", c.Name)
					require.NotNil(t, sc.AllowPrivilegeEscalation, c.Name)
					require.False(t, *sc.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", c.Name)
					require.False(t, ptrOr(sc.Privileged, false), c.Name)
					require.NotNil(t, sc.Capabilities, c.Name)
					require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, c.Name)
					require.Empty(t, sc.Capabilities.Add, c.Name)

					req, lim := c.Resources.Requests, c.Resources.Limits
					require.False(t, req.Cpu().IsZero(), "%s: cpu request", c.Name)
					require.False(t, req.Memory().IsZero(), "%s: memory request", c.Name)
					require.False(t, lim.Memory().IsZero(), "%s: memory limit", c.Name)
					require.LessOrEqual(t, req.Memory().Cmp(*lim.Memory()), 0, "%s: request above limit", c.Name)

					require.NotNil(t, c.LivenessProbe, "%s: liveness probe", c.Name)
					require.NotNil(t, c.ReadinessProbe, "%s: readiness probe", c.Name)
					for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
						if p != nil {
							requireProbeTargetsPort(t, c, p)
						}
					}
					require.NotEmpty(t, c.Image)
					require.NotContains(t, c.Image, ":latest", "%s: pin the image", c.Name)
					require.Contains(t, c.Image, ":", "%s: pin the image", c.Name)
					for _, p := range c.Ports {
						require.Empty(t, validation.IsValidPortName(p.Name), "%s: port %q", c.Name, p.Name)
					}
					requireMountsResolve(t, m, w, c)
					requireEnvResolves(t, m, c)
				}
			})
		}
	}
}

// requireProbeTargetsPort checks an HTTP or TCP probe names one of the container's ports.
func requireProbeTargetsPort(t *testing.T, c corev1.Container, p *corev1.Probe) {
	t.Helper()
	switch {
	case p.HTTPGet != nil:
		require.NotNil(t, containerPort(c, p.HTTPGet.Port), "%s: probe %s targets port %s the container does not expose", c.Name, p.HTTPGet.Path, p.HTTPGet.Port.String())
	case p.TCPSocket != nil:
		require.NotNil(t, containerPort(c, p.TCPSocket.Port), "%s: probe targets port %s the container does not expose", c.Name, p.TCPSocket.Port.String())
	case p.Exec != nil:
		require.NotEmpty(t, p.Exec.Command)
	default:
		t.Fatalf("%s: probe without a handler", c.Name)
	}
}

func containerPort(c corev1.Container, port intstr.IntOrString) *corev1.ContainerPort {
	for i, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return &c.Ports[i]
		}
	}
	return nil
}

// requireMountsResolve checks every mount names a volume of the pod, and every ConfigMap or
// Secret a volume projects exists (or is operator-provided) with the keys it names.
func requireMountsResolve(t *testing.T, m *manifests, w workload, c corev1.Container) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range w.pod.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		_, ok := vols[vm.Name]
		if !ok && w.kind == "StatefulSet" {
			ok = slices.ContainsFunc(m.statefulSets[w.name].Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == vm.Name })
		}
		require.True(t, ok, "%s: mount %s names no volume", c.Name, vm.Name)
	}
	for _, v := range w.pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			requireConfigMapKeys(t, m, v.ConfigMap.Name, v.ConfigMap.Items)
		case v.Secret != nil:
			requireSecretKeys(t, v.Secret.SecretName, v.Secret.Items)
		case v.Projected != nil:
			require.NotEmpty(t, v.Projected.Sources, "volume %s projects nothing", v.Name)
			for _, s := range v.Projected.Sources {
				switch {
				case s.ConfigMap != nil:
					requireConfigMapKeys(t, m, s.ConfigMap.Name, s.ConfigMap.Items)
				case s.Secret != nil:
					requireSecretKeys(t, s.Secret.Name, s.Secret.Items)
				default:
					t.Fatalf("volume %s: unexpected projection", v.Name)
				}
			}
		case v.EmptyDir != nil:
			require.NotNil(t, v.EmptyDir.SizeLimit, "volume %s: bound the scratch space", v.Name)
		default:
			t.Fatalf("volume %s: unexpected type", v.Name)
		}
	}
}

func requireConfigMapKeys(t *testing.T, m *manifests, name string, items []corev1.KeyToPath) {
	t.Helper()
	cm, ok := m.configMaps[name]
	require.True(t, ok, "ConfigMap %s is not in the overlay", name)
	require.NotEmpty(t, items, "ConfigMap %s: name the keys mounted", name)
	for _, it := range items {
		require.Contains(t, cm.Data, it.Key, "ConfigMap %s has no key %s", name, it.Key)
	}
}

func requireSecretKeys(t *testing.T, name string, items []corev1.KeyToPath) {
	t.Helper()
	keys, ok := operatorSecrets[name]
	require.True(t, ok, "Secret %s is neither in the overlay nor documented as operator-provided", name)
	require.NotEmpty(t, items, "Secret %s: name the keys mounted", name)
	for _, it := range items {
		require.Contains(t, keys, it.Key, "Secret %s: key %s is not documented", name, it.Key)
	}
}

// requireEnvResolves checks every variable has exactly one source and that source exists.
func requireEnvResolves(t *testing.T, m *manifests, c corev1.Container) {
	t.Helper()
	require.Empty(t, c.EnvFrom, "%s: name each variable", c.Name)
	seen := map[string]bool{}
	for _, e := range c.Env {
		require.False(t, seen[e.Name], "%s: %s set twice", c.Name, e.Name)
		seen[e.Name] = true
		if e.ValueFrom == nil {
			continue
		}
		require.Empty(t, e.Value, "%s: %s has a value and a source", c.Name, e.Name)
		vf := e.ValueFrom
		n := 0
		for _, set := range []bool{vf.ConfigMapKeyRef != nil, vf.SecretKeyRef != nil, vf.FieldRef != nil, vf.ResourceFieldRef != nil, vf.FileKeyRef != nil} {
			if set {
				n++
			}
		}
		require.Equal(t, 1, n, "%s: %s needs exactly one source", c.Name, e.Name)
		switch {
		case vf.ConfigMapKeyRef != nil:
			cm, ok := m.configMaps[vf.ConfigMapKeyRef.Name]
			require.True(t, ok, "%s: %s: no ConfigMap %s", c.Name, e.Name, vf.ConfigMapKeyRef.Name)
			require.Contains(t, cm.Data, vf.ConfigMapKeyRef.Key, "%s: %s: ConfigMap %s", c.Name, e.Name, cm.Name)
		case vf.SecretKeyRef != nil:
			requireSecretKeys(t, vf.SecretKeyRef.Name, []corev1.KeyToPath{{Key: vf.SecretKeyRef.Key}})
		case vf.ResourceFieldRef != nil:
			res := strings.TrimPrefix(vf.ResourceFieldRef.Resource, "limits.")
			_, ok := c.Resources.Limits[corev1.ResourceName(res)]
			require.True(t, ok, "%s: %s reads %s, which is not set", c.Name, e.Name, vf.ResourceFieldRef.Resource)
		case vf.FieldRef != nil:
			require.Equal(t, "metadata.name", vf.FieldRef.FieldPath, "%s: %s", c.Name, e.Name)
		default:
			t.Fatalf("%s: %s: unexpected source", c.Name, e.Name)
		}
	}
}

// mountedFiles returns the files a container sees from projected, ConfigMap and Secret volumes:
// path → "secret/<name>/<key>" or "configmap/<name>/<key>", and whether the source is optional.
func mountedFiles(w workload, c corev1.Container) map[string]string {
	vols := map[string]corev1.Volume{}
	for _, v := range w.pod.Spec.Volumes {
		vols[v.Name] = v
	}
	out := map[string]string{}
	for _, vm := range c.VolumeMounts {
		v := vols[vm.Name]
		add := func(kind, name string, items []corev1.KeyToPath) {
			for _, it := range items {
				out[path.Join(vm.MountPath, it.Path)] = kind + "/" + name + "/" + it.Key
			}
		}
		switch {
		case v.ConfigMap != nil:
			add("configmap", v.ConfigMap.Name, v.ConfigMap.Items)
		case v.Secret != nil:
			add("secret", v.Secret.SecretName, v.Secret.Items)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					add("configmap", s.ConfigMap.Name, s.ConfigMap.Items)
				}
				if s.Secret != nil {
					add("secret", s.Secret.Name, s.Secret.Items)
				}
			}
		}
	}
	return out
}

func env(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func TestRebalancerDeployments(t *testing.T) {
	for _, o := range overlays {
		m := render(t, "overlays/"+o.name)
		for name, replicas := range components {
			t.Run(o.name+"/"+name, func(t *testing.T) {
				d := m.component(t, name)
				require.Equal(t, replicas, ptrOr(d.Spec.Replicas, 1))
				if name == "planner" {
					require.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type,
						"planners on two configurations at once decide two ids for one deficit")
				}
				spec := d.Spec.Template.Spec
				require.Equal(t, int64(nonRootUID), ptrOr(spec.SecurityContext.RunAsUser, 0), "the image's user")
				require.NotNil(t, spec.SecurityContext.FSGroup, "secret files are group-readable through fsGroup")
				require.Len(t, spec.Containers, 1)
				c := spec.Containers[0]
				require.Equal(t, name, c.Name)

				repo, tag, ok := strings.Cut(c.Image, ":")
				require.True(t, ok)
				require.Equal(t, imageRepo, repo)
				require.NotEmpty(t, tag)
				require.Empty(t, c.Command, "the image's entrypoint is /rebalancer")
				require.Equal(t, []string{name, "--config", configPath, "--ops-addr", ":" + strconv.Itoa(opsPort)}, c.Args)

				ops := containerPort(c, intstr.FromString("ops"))
				require.NotNil(t, ops, "a port named ops")
				require.Equal(t, int32(opsPort), ops.ContainerPort)
				require.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path)
				require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
				for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
					require.Equal(t, ops, containerPort(c, p.HTTPGet.Port), "probes hit the ops port")
				}
				ann := d.Spec.Template.Annotations
				require.Equal(t, "true", ann["prometheus.io/scrape"])
				require.Equal(t, strconv.Itoa(opsPort), ann["prometheus.io/port"])
				require.Equal(t, "/metrics", ann["prometheus.io/path"])

				files := mountedFiles(workload{pod: d.Spec.Template}, c)
				require.Equal(t, "configmap/"+configMapOf(t, m, "rebalancer-config")+"/config.yaml", files[configPath])

				_, hasNATS := env(c, "NATS_URL")
				require.True(t, hasNATS)
				credsEnv, hasCreds := env(c, "NATS_CREDS_FILE")
				require.Equal(t, o.natsCreds, hasCreds, "NATS_CREDS_FILE")
				require.Equal(t, "secret/rebalancer-nats/nats.creds", files[secretDir+"/nats.creds"])
				natsSecret := projectedSecret(t, d, "rebalancer-nats")
				require.Equal(t, !o.natsCreds, ptrOr(natsSecret.Optional, false),
					"the NATS credentials are required exactly where NATS_CREDS_FILE is set")
				if hasCreds {
					require.Equal(t, secretDir+"/nats.creds", credsEnv.Value)
				}

				redis, hasRedis := env(c, "REDIS_URL")
				keyFiles, watcherKeys := 0, 0
				for _, e := range c.Env {
					if strings.HasSuffix(e.Name, "_FILE") {
						require.Contains(t, files, e.Value, "%s points to a file nothing mounts", e.Name)
					}
					if key, ok := executorKeyFiles[e.Name]; ok && name == "executor" {
						require.Equal(t, "secret/rebalancer-keys/"+key, files[e.Value], e.Name)
						keyFiles++
					}
					if key, ok := watcherKeyFiles[e.Name]; ok && name == "balancewatcher" {
						require.Equal(t, "secret/rebalancer-watcher-keys/"+key, files[e.Value], e.Name)
						watcherKeys++
					}
				}
				keysMounted, watcherKeysMounted := false, false
				for _, src := range files {
					keysMounted = keysMounted || strings.HasPrefix(src, "secret/rebalancer-keys/")
					watcherKeysMounted = watcherKeysMounted || strings.HasPrefix(src, "secret/rebalancer-watcher-keys/")
				}
				if name == "balancewatcher" {
					require.Equal(t, len(watcherKeyFiles), watcherKeys, "the watcher reads Binance with its read-only key")
				} else {
					require.False(t, watcherKeysMounted, "only the watcher mounts rebalancer-watcher-keys")
				}
				// app.EnvDryRun: a latch that can only force the executor's dry run on.
				dryRun, hasDryRun := env(c, "EXECUTOR_DRY_RUN")
				require.Equal(t, o.dryRun && name == "executor", hasDryRun, "EXECUTOR_DRY_RUN")
				if hasDryRun {
					require.Equal(t, "true", dryRun.Value)
				}
				if name == "executor" {
					require.True(t, hasRedis, "the executor keeps the ledger")
					require.Equal(t, len(executorKeyFiles), keyFiles)
					if o.devInfra {
						require.NotNil(t, redis.ValueFrom.ConfigMapKeyRef)
					} else {
						require.NotNil(t, redis.ValueFrom.SecretKeyRef, "a production Redis URL carries a password")
					}
				} else {
					require.False(t, hasRedis, "only the executor talks to Redis")
					require.Zero(t, keyFiles, "only the executor holds signing keys")
					require.False(t, keysMounted, "only the executor mounts rebalancer-keys")
				}
			})
		}
	}
}

// configMapOf returns the generated (hash-suffixed) name of a ConfigMap the base generates.
func configMapOf(t *testing.T, m *manifests, base string) string {
	t.Helper()
	var found []string
	for name := range m.configMaps {
		if strings.HasPrefix(name, base+"-") && len(name) == len(base)+11 {
			found = append(found, name)
		}
	}
	require.Len(t, found, 1, "ConfigMap %s", base)
	return found[0]
}

func projectedSecret(t *testing.T, d appsv1.Deployment, name string) *corev1.SecretProjection {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.Secret != nil && s.Secret.Name == name {
				return s.Secret
			}
		}
	}
	t.Fatalf("%s projects no Secret %s", d.Name, name)
	return nil
}

func TestServicesTargetNamedPorts(t *testing.T) {
	for _, o := range overlays {
		m := render(t, "overlays/"+o.name)
		for _, s := range m.services {
			t.Run(o.name+"/"+s.Name, func(t *testing.T) {
				ws := m.selected(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
				require.NotEmpty(t, ws, "selects no pods")
				require.NotEmpty(t, s.Spec.Ports)
				for _, p := range s.Spec.Ports {
					require.Equal(t, intstr.String, p.TargetPort.Type, "port %s: target a named port", p.Name)
					for _, w := range ws {
						found := false
						for _, c := range w.pod.Spec.Containers {
							if cp := containerPort(c, p.TargetPort); cp != nil {
								require.Equal(t, p.Protocol, cp.Protocol)
								found = true
							}
						}
						require.True(t, found, "port %s targets %s, which %s's pods do not expose", p.Name, p.TargetPort.StrVal, w.name)
					}
				}
			})
		}
	}
}

func TestDisruptionBudgets(t *testing.T) {
	for _, o := range overlays {
		m := render(t, "overlays/"+o.name)
		covered := map[string]bool{}
		for _, p := range m.pdbs {
			t.Run(o.name+"/"+p.Name, func(t *testing.T) {
				ws := m.selected(t, p.Spec.Selector)
				require.Len(t, ws, 1, "selects one workload")
				w := ws[0]
				covered[w.name] = true
				require.True(t, (p.Spec.MinAvailable == nil) != (p.Spec.MaxUnavailable == nil), "one of minAvailable, maxUnavailable")
				// How many pods a drain may evict at once; 0 would block every drain.
				var evictable int32
				if p.Spec.MinAvailable != nil {
					require.Equal(t, intstr.Int, p.Spec.MinAvailable.Type)
					evictable = w.replicas - p.Spec.MinAvailable.IntVal
				} else {
					require.Equal(t, intstr.Int, p.Spec.MaxUnavailable.Type)
					evictable = p.Spec.MaxUnavailable.IntVal
				}
				require.GreaterOrEqual(t, evictable, int32(1), "a drain must be able to proceed")
				if w.replicas > 1 {
					require.Less(t, evictable, w.replicas, "a drain must leave a replica running")
				}
				if w.name == "nats" {
					require.Equal(t, int32(1), evictable, "two of three servers keep an R3 stream writable")
				}
			})
		}
		for _, w := range m.workloads {
			require.True(t, covered[w.name], "%s: %s has no PodDisruptionBudget", o.name, w.name)
		}
	}
}

// egressClass names what an egress peer reaches, checking in the dev overlay that a pod selector
// peer really selects the workload that serves the port.
func egressClass(t *testing.T, m *manifests, o overlay, peer networkingv1.NetworkPolicyPeer) string {
	t.Helper()
	switch {
	case peer.IPBlock != nil:
		_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
		require.NoError(t, err)
		ones, _ := cidr.Mask.Size()
		require.Zero(t, ones, "443 goes to any address")
		for _, ex := range peer.IPBlock.Except {
			_, exNet, err := net.ParseCIDR(ex)
			require.NoError(t, err)
			require.True(t, cidr.Contains(exNet.IP), "except %s outside %s", ex, peer.IPBlock.CIDR)
		}
		v4 := cidr.IP.To4() != nil
		if v4 {
			require.Contains(t, peer.IPBlock.Except, "169.254.0.0/16", "never the cloud metadata service")
		}
		return "internet"
	case peer.PodSelector != nil && peer.NamespaceSelector != nil && peer.PodSelector.MatchLabels["k8s-app"] == "kube-dns":
		require.Equal(t, map[string]string{"kubernetes.io/metadata.name": "kube-system"}, peer.NamespaceSelector.MatchLabels)
		return "dns"
	case peer.PodSelector != nil:
		name := peer.PodSelector.MatchLabels["app.kubernetes.io/name"]
		require.Contains(t, []string{"nats", "redis"}, name)
		if o.devInfra {
			require.Nil(t, peer.NamespaceSelector, "dev runs %s in its own namespace", name)
			ws := m.selected(t, peer.PodSelector)
			require.Len(t, ws, 1)
			require.Equal(t, name, ws[0].name)
		} else {
			require.NotNil(t, peer.NamespaceSelector, "prod's %s lives in its own namespace", name)
			require.Equal(t, map[string]string{"kubernetes.io/metadata.name": name}, peer.NamespaceSelector.MatchLabels)
		}
		return name
	}
	t.Fatalf("unexpected egress peer %+v", peer)
	return ""
}

func TestNetworkPolicies(t *testing.T) {
	// Exactly what each service needs: class:port/protocol.
	want := map[string][]string{
		"balancewatcher": {"dns:53/TCP", "dns:53/UDP", "internet:443/TCP", "internet:443/TCP", "nats:4222/TCP"},
		"planner":        {"dns:53/TCP", "dns:53/UDP", "nats:4222/TCP"},
		"executor":       {"dns:53/TCP", "dns:53/UDP", "internet:443/TCP", "internet:443/TCP", "nats:4222/TCP", "redis:6379/TCP"},
	}
	servePorts := map[string]string{"nats": "client", "redis": "redis"}
	for _, o := range overlays {
		m := render(t, "overlays/"+o.name)
		for name := range components {
			t.Run(o.name+"/"+name, func(t *testing.T) {
				p, ok := m.policies["rebalancer-"+name]
				require.True(t, ok)
				ws := m.selected(t, &p.Spec.PodSelector)
				require.Len(t, ws, 1)
				require.Equal(t, "rebalancer-"+name, ws[0].name)
				require.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, p.Spec.PolicyTypes)

				require.Len(t, p.Spec.Ingress, 1, "only the ops port, only from monitoring")
				in := p.Spec.Ingress[0]
				require.Len(t, in.From, 1)
				require.Nil(t, in.From[0].PodSelector)
				require.NotNil(t, in.From[0].NamespaceSelector)
				require.Equal(t, map[string]string{"kubernetes.io/metadata.name": monitoring}, in.From[0].NamespaceSelector.MatchLabels)
				require.Len(t, in.Ports, 1)
				c := ws[0].pod.Spec.Containers[0]
				cp := containerPort(c, *in.Ports[0].Port)
				require.NotNil(t, cp)
				require.Equal(t, int32(opsPort), cp.ContainerPort)

				var got []string
				for _, rule := range p.Spec.Egress {
					require.NotEmpty(t, rule.To, "an egress rule without peers allows every address")
					require.NotEmpty(t, rule.Ports, "an egress rule without ports allows every port")
					for _, peer := range rule.To {
						class := egressClass(t, m, o, peer)
						for _, port := range rule.Ports {
							require.NotNil(t, port.Port)
							require.Nil(t, port.EndPort)
							require.Equal(t, intstr.Int, port.Port.Type)
							got = append(got, fmt.Sprintf("%s:%d/%s", class, port.Port.IntVal, *port.Protocol))
							if sp, ok := servePorts[class]; ok && o.devInfra {
								ws := m.selected(t, peer.PodSelector)
								served := containerPort(ws[0].pod.Spec.Containers[0], intstr.FromString(sp))
								require.NotNil(t, served)
								require.Equal(t, port.Port.IntVal, served.ContainerPort, "%s serves on %d", class, served.ContainerPort)
							}
						}
					}
				}
				sort.Strings(got)
				require.Equal(t, want[name], got)
			})
		}
	}
}

func TestDevInfrastructure(t *testing.T) {
	m := render(t, "overlays/dev")

	t.Run("nats", func(t *testing.T) {
		s := m.statefulSets["nats"]
		require.Equal(t, int32(3), ptrOr(s.Spec.Replicas, 1))
		headless, ok := m.services[s.Spec.ServiceName]
		require.True(t, ok, "the StatefulSet's governing Service")
		require.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
		require.True(t, headless.Spec.PublishNotReadyAddresses, "servers find each other while starting")
		conf := m.configMaps["nats-config"].Data["nats.conf"]
		require.Regexp(t, `(?m)^\s*jetstream\s*\{`, conf)
		require.Regexp(t, `(?m)^\s*store_dir:\s*/data\s*$`, conf)
		var routes []string
		for _, r := range regexp.MustCompile(`nats://([a-z0-9.-]+):6222`).FindAllStringSubmatch(conf, -1) {
			routes = append(routes, r[1])
		}
		var pods []string
		for i := range 3 {
			pods = append(pods, fmt.Sprintf("%s-%d.%s", s.Name, i, headless.Name))
		}
		require.Equal(t, pods, routes, "cluster routes name every server")
		c := s.Spec.Template.Spec.Containers[0]
		require.NotNil(t, containerPort(c, intstr.FromInt32(6222)))
		require.True(t, slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == "/data" && v.Name == "data" }),
			"the store is on the persistent volume")
		requireURLReachesService(t, m, m.configMaps[configMapOf(t, m, "rebalancer-env")].Data["NATS_URL"], "nats", "nats")
	})

	t.Run("redis", func(t *testing.T) {
		conf := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(m.configMaps["redis-config"].Data["redis.conf"]))
		for sc.Scan() {
			k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			if k != "" && !strings.HasPrefix(k, "#") {
				conf[k] = v
			}
		}
		require.Equal(t, "yes", conf["appendonly"], "the ledger survives a restart")
		require.Equal(t, "everysec", conf["appendfsync"])
		require.Equal(t, "noeviction", conf["maxmemory-policy"], "a ledger leg is never evicted")
		s := m.statefulSets["redis"]
		c := s.Spec.Template.Spec.Containers[0]
		require.True(t, slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == conf["dir"] && v.Name == "data" }),
			"the AOF is on the persistent volume")
		requireURLReachesService(t, m, m.configMaps[configMapOf(t, m, "rebalancer-env")].Data["REDIS_URL"], "redis", "redis")
	})
}

func requireURLReachesService(t *testing.T, m *manifests, raw, scheme, workloadName string) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	require.Equal(t, scheme, u.Scheme)
	svc, ok := m.services[u.Hostname()]
	require.True(t, ok, "%s: no Service %s", raw, u.Hostname())
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	ws := m.selected(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
	require.Len(t, ws, 1)
	require.Equal(t, workloadName, ws[0].name)
	require.True(t, slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == int32(port) }), "%s: Service %s has no port %d", raw, svc.Name, port)
}

// TestOperatorSecretsAreDocumented keeps README.md telling operators every Secret and key the
// manifests expect them to create.
func TestOperatorSecretsAreDocumented(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(b)
	for name, keys := range operatorSecrets {
		require.Contains(t, readme, "`"+name+"`")
		for _, k := range keys {
			require.Contains(t, readme, "`"+k+"`", "Secret %s key %s", name, k)
		}
	}
}

// TestConfigMapHoldsAValidConfig parses the configuration each overlay ships with the services'
// own schema, so that a manifest never carries a file the binary would refuse at start-up.
func TestConfigMapHoldsAValidConfig(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			m := render(t, "overlays/"+o.name)
			cm := m.configMaps[configMapOf(t, m, "rebalancer-config")]
			cfg, err := config.Parse([]byte(cm.Data["config.yaml"]))
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Accounts)
			for _, c := range cfg.Chains {
				for _, rpc := range c.RPC {
					u, err := url.Parse(rpc)
					require.NoError(t, err)
					require.Equal(t, "https", u.Scheme, "chain %d: the NetworkPolicy allows chain RPCs on 443 only", c.ID)
					require.Contains(t, []string{"", "443"}, u.Port(), "chain %d: the NetworkPolicy allows chain RPCs on 443 only", c.ID)
				}
			}
		})
	}
}
