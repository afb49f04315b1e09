// Package k8s holds the Kubernetes manifests of the rebalancer (a kustomize base and the dev and
// prod overlays, see README.md) and the test that guards them. The package has no code: its
// test renders each overlay with kustomize, decodes every object strictly into the Kubernetes
// API types (an unknown field fails), and checks the references between them and the binary's
// conventions: selectors match pod labels, Services target named ports that exist, every
// ConfigMap and Secret key referenced exists or is documented as operator-provided, probes hit
// the ops port, every container is non-root with a read-only root filesystem and resources set,
// each PodDisruptionBudget selects one workload and lets a drain proceed, the NetworkPolicies
// allow exactly what each service needs, the shipped config.yaml passes the services' own
// schema, and the root Dockerfile builds the static, non-root, simulator-free image the
// manifests assume.
package k8s
