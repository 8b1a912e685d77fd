#!/usr/bin/env bash
# End-to-end: the real kubectl (/usr/bin/kubectl) against a live `minikd up` serving only the API on a
# free loopback port, with the kubeconfig minikd wrote. Checks kubectl's output and the resulting objects.
# Usage: bash kubectl_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=${1:?usage: kubectl_test.sh <minikd binary>}
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
[ -x "$KUBECTL" ] || { echo "FAIL: $KUBECTL not found"; exit 1; }

source "$(dirname "$0")/lib.sh"
e2e_init kubectl

PORT=$(free_port)
start_minikd --state-dir "$STATE/state" --no-pods --no-proxy --no-dns --no-dashboard

export KUBECONFIG="$STATE/state/kubeconfig"
private_home  # kubectl's discovery and http caches go here, not into the user's home
k() { "$KUBECTL" "$@" 2>&1; }

out=$(k version) || fail "kubectl version: $out"
expect "version shows the server" "$out" "Server Version: v1.32"

out=$(k api-resources) || fail "api-resources: $out"
expect "api-resources lists configmaps" "$out" "configmaps"
expect "api-resources lists deployments" "$out" "deployments"

out=$(k get ns) || fail "get ns: $out"
expect "get ns has default" "$out" "default"
expect "get ns has kube-system" "$out" "kube-system"
expect "get ns has a STATUS column" "$out" "STATUS"
out=$(k get nodes) || fail "get nodes: $out"
expect "the node is Ready" "$out" "Ready"

cat >"$STATE/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: e2e-cm
  labels:
    app: e2e
data:
  a: "1"
  word: "no"
YAML
out=$(k apply -f "$STATE/cm.yaml") || fail "apply: $out"
expect_eq "apply creates" "$out" "configmap/e2e-cm created"
out=$(k apply -f "$STATE/cm.yaml") || fail "apply again: $out"
expect_eq "re-apply is unchanged" "$out" "configmap/e2e-cm unchanged"

out=$(k get cm e2e-cm) || fail "get cm: $out"
expect "table header" "$out" "NAME     DATA   AGE"
expect "table row" "$out" "e2e-cm   2"
out=$(k get cm e2e-cm -o yaml) || fail "get -o yaml: $out"
expect "yaml keeps the quoted value" "$out" 'a: "1"'
out=$(k get cm e2e-cm -o json) || fail "get -o json: $out"
expect_eq "json data" "$(jq -r .data.a <<<"$out")" "1"
out=$(k get cm -l app=e2e -o name) || fail "get -o name: $out"
expect_eq "-o name with a selector" "$out" "configmap/e2e-cm"
out=$(k get cm e2e-cm -o jsonpath='{.metadata.labels.app}') || fail "jsonpath: $out"
expect_eq "jsonpath" "$out" "e2e"
out=$(k get cm -A) || fail "get -A: $out"
expect "-A shows NAMESPACE" "$out" "NAMESPACE"

# get -w sees an update made while it watches.
timeout 10 "$KUBECTL" get cm e2e-cm -w >"$STATE/watch.out" 2>&1 &
WATCH=$!
sleep 2
sed -i 's/  a: "1"/  a: "1"\n  b: "2"/' "$STATE/cm.yaml"
out=$(k apply -f "$STATE/cm.yaml") || fail "apply change: $out"
expect_eq "apply configures" "$out" "configmap/e2e-cm configured"
wait "$WATCH"
expect "get -w saw the first state" "$(cat "$STATE/watch.out")" "e2e-cm   2"
expect "get -w saw the update" "$(cat "$STATE/watch.out")" "e2e-cm   3"

out=$(k label cm e2e-cm tier=web) || fail "label: $out"
expect_eq "label" "$out" "configmap/e2e-cm labeled"
expect_eq "label stored" "$(k get cm e2e-cm -o jsonpath='{.metadata.labels.tier}')" "web"
out=$(k label cm e2e-cm tier=db 2>&1) && fail "label without --overwrite must fail: $out"
out=$(k label cm e2e-cm tier-) || fail "label remove: $out"
expect_eq "label removed" "$(k get cm e2e-cm -o jsonpath='{.metadata.labels.tier}')" ""

out=$(k annotate cm e2e-cm note=hello) || fail "annotate: $out"
expect_eq "annotate" "$out" "configmap/e2e-cm annotated"
expect_eq "annotation stored" "$(k get cm e2e-cm -o jsonpath='{.metadata.annotations.note}')" "hello"

out=$(k patch cm e2e-cm --type merge -p '{"data":{"m":"merge"}}') || fail "merge patch: $out"
expect_eq "merge patch" "$out" "configmap/e2e-cm patched"
out=$(k patch cm e2e-cm --type json -p '[{"op":"add","path":"/data/j","value":"json"}]') || fail "json patch: $out"
expect_eq "json patch" "$out" "configmap/e2e-cm patched"
out=$(k patch cm e2e-cm -p '{"data":{"s":"strategic"}}') || fail "strategic patch: $out"
expect_eq "strategic patch" "$out" "configmap/e2e-cm patched"
expect_eq "patched data" "$(k get cm e2e-cm -o jsonpath='{.data.m},{.data.j},{.data.s},{.data.a}')" "merge,json,strategic,1"

k get cm e2e-cm -o yaml >"$STATE/replace.yaml" || fail "get for replace"
sed -i 's/^  m: merge/  m: replaced/' "$STATE/replace.yaml"
out=$(k replace -f "$STATE/replace.yaml") || fail "replace: $out"
expect_eq "replace" "$out" "configmap/e2e-cm replaced"
expect_eq "replaced data" "$(k get cm e2e-cm -o jsonpath='{.data.m}')" "replaced"

out=$(k delete cm e2e-cm) || fail "delete: $out"
expect_eq "delete" "$out" 'configmap "e2e-cm" deleted'
out=$(k get cm e2e-cm) && fail "get after delete must fail: $out"
expect "NotFound after delete" "$out" 'Error from server (NotFound): configmaps "e2e-cm" not found'

# create -f, delete -f, delete -l.
out=$(k create -f "$STATE/cm.yaml") || fail "create -f: $out"
expect_eq "create -f" "$out" "configmap/e2e-cm created"
out=$(k create -f "$STATE/cm.yaml") && fail "create twice must fail: $out"
expect "AlreadyExists" "$out" "AlreadyExists"
out=$(k delete -f "$STATE/cm.yaml") || fail "delete -f: $out"
expect_eq "delete -f" "$out" 'configmap "e2e-cm" deleted'
k create -f "$STATE/cm.yaml" >/dev/null || fail "create again"
out=$(k delete cm -l app=e2e) || fail "delete -l: $out"
expect_eq "delete -l" "$out" 'configmap "e2e-cm" deleted'
expect_eq "nothing left" "$(k get cm -l app=e2e -o name)" ""

# run, expose (JSON POSTs with their field managers) and set image (a strategic-merge patch).
out=$(k run e2e-run --image=nginx:1.25 --labels=app=e2e-run --port=80 --command -- sleep 3600) || fail "run: $out"
expect_eq "run" "$out" "pod/e2e-run created"
expect_eq "run's image and port" "$(k get pod e2e-run -o jsonpath='{.spec.containers[0].image},{.spec.containers[0].ports[0].containerPort}')" "nginx:1.25,80"
out=$(k expose pod e2e-run --port=8080 --target-port=80 --name=e2e-svc) || fail "expose: $out"
expect_eq "expose" "$out" "service/e2e-svc exposed"
expect_eq "expose's selector and ports" "$(k get svc e2e-svc -o jsonpath='{.spec.selector.app},{.spec.ports[0].port},{.spec.ports[0].targetPort}')" "e2e-run,8080,80"
expect "expose allocated a ClusterIP" "$(k get svc e2e-svc -o jsonpath='{.spec.clusterIP}')" "10."
out=$(k set image pod/e2e-run e2e-run=nginx:1.26) || fail "set image: $out"
expect_eq "set image" "$out" "pod/e2e-run image updated"
expect_eq "image updated" "$(k get pod e2e-run -o jsonpath='{.spec.containers[0].image}')" "nginx:1.26"
k delete svc e2e-svc >/dev/null || fail "delete svc"
k delete pod e2e-run --grace-period=0 --force >/dev/null 2>&1

# A Deployment through client-side apply: containers are merged by name ($setElementOrder), and a
# second apply that drops one container and changes another's image updates the stored object.
cat >"$STATE/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: e2e-web, labels: {app: e2e-web}}
spec:
  replicas: 0
  selector: {matchLabels: {app: e2e-web}}
  template:
    metadata: {labels: {app: e2e-web}}
    spec:
      containers:
      - {name: main, image: "web:1", command: ["sleep", "3600"], env: [{name: A, value: "1"}, {name: B, value: "2"}]}
      - {name: side, image: "side:1", command: ["sleep", "3600"]}
YAML
out=$(k apply -f "$STATE/deploy.yaml") || fail "apply deployment: $out"
expect_eq "apply deployment" "$out" "deployment.apps/e2e-web created"
sed -i 's/web:1/web:2/; /name: side/d; s/{name: B, value: "2"}/{name: C, value: "3"}/' "$STATE/deploy.yaml"
out=$(k apply -f "$STATE/deploy.yaml") || fail "re-apply deployment: $out"
expect_eq "re-apply configures" "$out" "deployment.apps/e2e-web configured"
expect_eq "strategic merge by name: one container left, new image, env merged by name" \
  "$(k get deploy e2e-web -o jsonpath='{range .spec.template.spec.containers[*]}{.name}={.image}:{range .env[*]}{.name}{end};{end}')" \
  "main=web:2:AC;"
out=$(k get deploy -o wide) || fail "get -o wide: $out"
expect "-o wide adds CONTAINERS and SELECTOR" "$out" "CONTAINERS"
expect "-o wide shows the image" "$out" "web:2"
out=$(k get all) || fail "get all: $out"
expect "get all lists the deployment" "$out" "deployment.apps/e2e-web"
expect "get all lists the kubernetes service" "$out" "service/kubernetes"
out=$(k describe deploy e2e-web) || fail "describe: $out"
expect "describe shows the selector" "$out" "app=e2e-web"
expect "describe shows the image" "$out" "web:2"

# edit: kubectl runs $EDITOR on the object and PATCHes the change.
out=$(EDITOR="sed -i s/web:2/web:3/" k edit deploy e2e-web) || fail "edit: $out"
expect_eq "edit" "$out" "deployment.apps/e2e-web edited"
expect_eq "edited image" "$(k get deploy e2e-web -o jsonpath='{.spec.template.spec.containers[0].image}')" "web:3"

# Server-side apply: field managers, re-apply, a conflict with another manager, then --force-conflicts.
cat >"$STATE/ssa.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: e2e-ssa}
data: {owner: first}
YAML
out=$(k apply --server-side -f "$STATE/ssa.yaml") || fail "apply --server-side: $out"
expect_eq "server-side apply creates" "$out" "configmap/e2e-ssa serverside-applied"
expect "managedFields name the manager" "$(k get cm e2e-ssa -o jsonpath='{.metadata.managedFields[*].manager}' --show-managed-fields)" "kubectl"
sed -i 's/first/second/' "$STATE/ssa.yaml"
out=$(k apply --server-side --field-manager=other -f "$STATE/ssa.yaml") && fail "a conflicting manager must fail: $out"
expect "the conflict names the field and the manager" "$out" "conflict"
out=$(k apply --server-side --field-manager=other --force-conflicts -f "$STATE/ssa.yaml") || fail "force-conflicts: $out"
expect_eq "force-conflicts takes the field" "$(k get cm e2e-ssa -o jsonpath='{.data.owner}')" "second"

# delete --all in a namespace.
k create cm e2e-a1 --dry-run=client -o yaml | k apply -f - >/dev/null || fail "create e2e-a1"
out=$(k delete cm --all) || fail "delete --all: $out"
expect "delete --all names each" "$out" 'configmap "e2e-a1" deleted'
expect_eq "no configmaps left" "$(k get cm -o name | grep -c e2e-)" "0"
k delete deploy e2e-web >/dev/null || fail "delete deployment"

echo "PASS: kubectl e2e"
