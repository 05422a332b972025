// Package deploy holds no code: it is a module of its own so that the tests
// that check the Kubernetes manifests against the official k8s.io/api types
// keep those libraries out of replayhook's own dependencies. Run them with
// `cd deploy && go test ./...` (scripts/test does).
package deploy
