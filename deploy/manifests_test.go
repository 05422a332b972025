package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// variants are the directories applied together: common/ with one of them.
var variants = map[string][]string{
	"memory": {"k8s/common", "k8s/memory"},
	"redis":  {"k8s/common", "k8s/redis"},
}

// objects is one variant's decoded manifests, by kind.
type objects struct {
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   []*corev1.ConfigMap
	secrets      []*corev1.Secret
	pvcs         []*corev1.PersistentVolumeClaim
	pdbs         []*policyv1.PodDisruptionBudget
}

// kinds maps apiVersion/kind to a fresh typed object and where it goes.
func (o *objects) typed(apiVersion, kind string) (any, func(), error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		v := &appsv1.Deployment{}
		return v, func() { o.deployments = append(o.deployments, v) }, nil
	case "apps/v1/StatefulSet":
		v := &appsv1.StatefulSet{}
		return v, func() { o.statefulSets = append(o.statefulSets, v) }, nil
	case "v1/Service":
		v := &corev1.Service{}
		return v, func() { o.services = append(o.services, v) }, nil
	case "v1/ConfigMap":
		v := &corev1.ConfigMap{}
		return v, func() { o.configMaps = append(o.configMaps, v) }, nil
	case "v1/Secret":
		v := &corev1.Secret{}
		return v, func() { o.secrets = append(o.secrets, v) }, nil
	case "v1/PersistentVolumeClaim":
		v := &corev1.PersistentVolumeClaim{}
		return v, func() { o.pvcs = append(o.pvcs, v) }, nil
	case "policy/v1/PodDisruptionBudget":
		v := &policyv1.PodDisruptionBudget{}
		return v, func() { o.pdbs = append(o.pdbs, v) }, nil
	}
	return nil, nil, fmt.Errorf("unexpected %s %s (add it to the test if it is meant to be here)", apiVersion, kind)
}

// load decodes every document of every *.yaml file under dirs strictly into
// its k8s.io/api type: an unknown or misspelt field, a wrong type or a bad
// quantity fails.
func load(t *testing.T, dirs ...string) *objects {
	t.Helper()
	o := &objects{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no manifests (%v)", dir, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
				if strings.TrimSpace(stripComments(doc)) == "" {
					continue
				}
				var u unstructured.Unstructured
				if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
					t.Fatalf("%s document %d: not YAML: %v", file, i, err)
				}
				v, keep, err := o.typed(u.GetAPIVersion(), u.GetKind())
				if err != nil {
					t.Fatalf("%s document %d: %v", file, i, err)
				}
				if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
					t.Fatalf("%s document %d (%s): %v", file, i, u.GetKind(), err)
				}
				if u.GetName() == "" {
					t.Fatalf("%s document %d: no metadata.name", file, i)
				}
				keep()
			}
		}
	}
	return o
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestManifests(t *testing.T) {
	for name, dirs := range variants {
		t.Run(name, func(t *testing.T) {
			o := load(t, dirs...)
			if len(o.deployments) != 1 || len(o.pdbs) != 1 || len(o.configMaps) != 1 || len(o.secrets) != 1 {
				t.Fatalf("want one Deployment, PodDisruptionBudget, ConfigMap and Secret; got %d, %d, %d, %d",
					len(o.deployments), len(o.pdbs), len(o.configMaps), len(o.secrets))
			}
			d := o.deployments[0]
			checkPod(t, "Deployment "+d.Name, &d.Spec.Template.Spec, true)
			for _, s := range o.statefulSets {
				checkPod(t, "StatefulSet "+s.Name, &s.Spec.Template.Spec, false)
			}
			podLabels := labels.Set(d.Spec.Template.Labels)
			sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
			if !sel.Matches(podLabels) {
				t.Errorf("the Deployment's selector does not match its pods")
			}
			var svc *corev1.Service
			for _, s := range o.services {
				if s.Name == "replayhook" {
					svc = s
				}
			}
			if svc == nil {
				t.Fatal("no Service replayhook")
			}
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
				t.Errorf("Service %s does not select the replayhook pods", svc.Name)
			}
			ports := containerPorts(&d.Spec.Template.Spec)
			for _, p := range svc.Spec.Ports {
				if p.TargetPort.StrVal != "" && !ports[p.TargetPort.StrVal] {
					t.Errorf("Service port %s targets %q, which no container declares", p.Name, p.TargetPort.StrVal)
				}
			}
			pdb := o.pdbs[0]
			if pdb.Spec.Selector == nil || !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(podLabels) {
				t.Errorf("PodDisruptionBudget %s does not select the replayhook pods", pdb.Name)
			}
			replicas := int32(1)
			if d.Spec.Replicas != nil {
				replicas = *d.Spec.Replicas
			}
			switch name {
			case "memory":
				if replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
					t.Errorf("the memory store holds the state in one process: want 1 replica and Recreate, got %d and %s", replicas, d.Spec.Strategy.Type)
				}
				if pdb.Spec.MinAvailable != nil {
					t.Errorf("minAvailable on a single replica blocks every node drain")
				}
			case "redis":
				if replicas < 2 || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 {
					t.Errorf("the Redis variant runs several replicas and keeps one through drains")
				}
			}
			checkReferences(t, o, d)
		})
	}
}

// checkPod requires what every replayhook pod needs to run safely.
func checkPod(t *testing.T, what string, spec *corev1.PodSpec, httpProbes bool) {
	t.Helper()
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot must be true", what)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil || spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile RuntimeDefault", what)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false (it never calls the API server)", what)
	}
	ports := containerPorts(spec)
	for _, c := range spec.Containers {
		w := what + " container " + c.Name
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Errorf("%s: needs a liveness and a readiness probe", w)
		}
		if httpProbes && c.LivenessProbe != nil && c.ReadinessProbe != nil {
			if g := c.LivenessProbe.HTTPGet; g == nil || g.Path != "/livez" || !ports[g.Port.StrVal] {
				t.Errorf("%s: liveness must GET /livez on a declared port", w)
			}
			if g := c.ReadinessProbe.HTTPGet; g == nil || g.Path != "/readyz" || !ports[g.Port.StrVal] {
				t.Errorf("%s: readiness must GET /readyz on a declared port", w)
			}
		}
		r := c.Resources
		if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
			t.Errorf("%s: needs cpu and memory requests and a memory limit", w)
		}
		if r.Limits.Memory().Cmp(*r.Requests.Memory()) < 0 {
			t.Errorf("%s: memory limit below the request", w)
		}
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s: securityContext must forbid privilege escalation, make the root filesystem read-only and drop ALL capabilities", w)
		}
		if c.Image == "" {
			t.Errorf("%s: no image", w)
		}
	}
}

func containerPorts(spec *corev1.PodSpec) map[string]bool {
	out := map[string]bool{}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			out[p.Name] = true
		}
	}
	return out
}

// envRef is a ${VAR} without a default in the configuration: it must be set.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// checkReferences: every ConfigMap, Secret and claim the Deployment uses is
// in the variant, and every variable the configuration requires is set by
// the Deployment or the Secret.
func checkReferences(t *testing.T, o *objects, d *appsv1.Deployment) {
	t.Helper()
	spec := &d.Spec.Template.Spec
	has := func(names []string, n string) bool {
		return sort.SearchStrings(names, n) < len(names) && names[sort.SearchStrings(names, n)] == n
	}
	var cms, secrets, claims []string
	for _, c := range o.configMaps {
		cms = append(cms, c.Name)
	}
	for _, s := range o.secrets {
		secrets = append(secrets, s.Name)
	}
	for _, p := range o.pvcs {
		claims = append(claims, p.Name)
	}
	sort.Strings(cms)
	sort.Strings(secrets)
	sort.Strings(claims)
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil && !has(cms, v.ConfigMap.Name):
			t.Errorf("volume %s: no ConfigMap %s", v.Name, v.ConfigMap.Name)
		case v.PersistentVolumeClaim != nil && !has(claims, v.PersistentVolumeClaim.ClaimName):
			t.Errorf("volume %s: no PersistentVolumeClaim %s", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	set := map[string]bool{}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			set[e.Name] = true
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef == nil || !has(secrets, ef.SecretRef.Name) {
				t.Errorf("envFrom: no Secret %v", ef.SecretRef)
				continue
			}
			for _, s := range o.secrets {
				if s.Name == ef.SecretRef.Name {
					for k := range s.StringData {
						set[k] = true
					}
				}
			}
		}
	}
	cfg := o.configMaps[0].Data["config.yaml"]
	if cfg == "" {
		t.Fatalf("ConfigMap %s has no config.yaml", o.configMaps[0].Name)
	}
	for _, m := range envRef.FindAllStringSubmatch(stripComments(cfg), -1) {
		if !set[m[1]] {
			t.Errorf("the configuration requires $%s, which neither the Deployment nor the Secret sets", m[1])
		}
	}
}

// TestConfigMapIsTheProductionConfig: the memory variant ships exactly
// deploy/config.production.yaml, so the two cannot drift apart.
func TestConfigMapIsTheProductionConfig(t *testing.T) {
	o := load(t, "k8s/memory")
	want, err := os.ReadFile("config.production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.configMaps[0].Data["config.yaml"]; !bytes.Equal([]byte(got), want) {
		t.Errorf("k8s/memory/configmap.yaml's config.yaml differs from config.production.yaml")
	}
}

// TestStrictDecodingCatchesMistakes: the check is real, a typo or a bad
// value in a manifest fails it.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	raw, err := os.ReadFile("k8s/memory/pdb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good := stripComments(string(raw))
	for name, bad := range map[string]string{
		"misspelt field": strings.Replace(good, "maxUnavailable:", "maxUnavailabel:", 1),
		"wrong type":     strings.Replace(good, "maxUnavailable: 1", "maxUnavailable: [1]", 1),
		"unknown kind":   strings.Replace(good, "kind: PodDisruptionBudget", "kind: PodDisruptionBudgets", 1),
	} {
		if bad == good {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(bad), &u.Object); err != nil {
			continue // not even YAML: caught
		}
		o := &objects{}
		v, _, err := o.typed(u.GetAPIVersion(), u.GetKind())
		if err == nil {
			err = yaml.UnmarshalStrict([]byte(bad), v)
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dep, err := os.ReadFile("k8s/memory/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Split(string(dep), "\n---")[0]
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(strings.Replace(doc, "memory: 1Gi", "memory: lots", 1)), &d); err == nil {
		t.Error("a bad quantity was accepted")
	}
}
