#!/usr/bin/env bash
# End-to-end: minikd's own CLI against a live `minikd up` serving only the API on a free loopback port.
# Checks the CLI's output and the resulting objects (read back with `minikd get -o json` and jq).
# Usage: bash cli_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=${1:?usage: cli_test.sh <minikd binary>}

source "$(dirname "$0")/lib.sh"
e2e_init cli
m() { "$MINIKD" "$@" 2>&1; }

PORT=$(free_port)
export KUBECONFIG="$STATE/state/kubeconfig"
private_home

# Before minikd runs: one friendly line and exit code 1.
mkdir -p "$STATE/state"
cat >"$KUBECONFIG" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: minikd
  cluster:
    server: https://127.0.0.1:$PORT
    insecure-skip-tls-verify: true
users:
- name: minikd
  user: {token: x}
contexts:
- name: minikd
  context: {cluster: minikd, user: minikd}
current-context: minikd
YAML
out=$(m get pods) && fail "get without a server must fail: $out"
expect "not running message" "$out" "minikd is not running (no answer at https://127.0.0.1:$PORT): start it with \`sudo minikd up\`"
rm -f "$KUBECONFIG"

start_minikd --state-dir "$STATE/state" --no-pods --no-proxy --no-dns --no-dashboard

out=$(m version) || fail "version: $out"
expect "version shows the server" "$out" "Server Version: v1.32"
out=$(m status) || fail "status: $out"
expect "status says ready" "$out" "ready"
out=$(m get ns) || fail "get ns: $out"
expect "get ns header" "$out" "NAME"
expect "get ns has kube-system" "$out" "kube-system"
expect "namespaces are Active" "$out" "Active"
out=$(m get nodes -o wide) || fail "get nodes: $out"
expect "node is Ready" "$out" "Ready"
out=$(m get bogus) && fail "unknown type must fail"
expect "unknown type" "$out" 'error: the server doesn'"'"'t have a resource type "bogus"'
out=$(m get cm nope) && fail "missing object must fail"
expect_eq "NotFound like kubectl" "$out" 'Error from server (NotFound): configmaps "nope" not found'

mkdir -p "$STATE/manifests"
cat >"$STATE/manifests/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: cli-cm
  labels: {app: cli}
data:
  a: "1"
  flag: yes
  zip: "0123"
  script: |
    #!/bin/sh
    echo hi
---
apiVersion: v1
kind: Secret
metadata:
  name: cli-secret
stringData:
  password: s3cret
YAML
out=$(m apply -f "$STATE/manifests/") || fail "apply dir: $out"
expect "apply creates the configmap" "$out" "configmap/cli-cm created"
expect "apply creates the secret" "$out" "secret/cli-secret created"
out=$(m apply -f "$STATE/manifests/cm.yaml") || fail "re-apply: $out"
expect "re-apply is unchanged" "$out" "configmap/cli-cm unchanged"
json=$(m get cm cli-cm -o json) || fail "get -o json: $json"
expect_eq "quoted int stays a string" "$(jq -r '.data.zip' <<<"$json")" "0123"
expect_eq "yes is the string yes" "$(jq -r '.data.flag' <<<"$json")" "yes"
expect_eq "literal block" "$(jq -r '.data.script' <<<"$json")" $'#!/bin/sh\necho hi'
out=$(m get cm cli-cm -o yaml) || fail "get -o yaml: $out"
expect "yaml quotes 0123" "$out" 'zip: "0123"'
expect "yaml literal block" "$out" $'script: |\n    #!/bin/sh'
out=$(m get cm cli-cm) || fail "get table: $out"
expect "table" "$out" $'NAME     DATA   AGE\ncli-cm   4'
out=$(m get cm,secret -l app=cli -o name) || fail "get -o name: $out"
expect_eq "-o name" "$out" "configmap/cli-cm"
out=$(m get cm cli-cm -o 'jsonpath={.metadata.name}:{.data.a}') || fail "jsonpath: $out"
expect_eq "jsonpath" "$out" "cli-cm:1"
out=$(m get cm -A --show-labels) || fail "get -A: $out"
expect "-A NAMESPACE column" "$out" "NAMESPACE"
expect "--show-labels" "$out" "app=cli"
out=$(m describe cm cli-cm) || fail "describe: $out"
expect "describe name" "$out" "Name:"
expect "describe data" "$out" "echo hi"

# -w streams the update.
timeout 8 "$MINIKD" get cm cli-cm -w >"$STATE/watch.out" 2>&1 &
WATCH=$!
sleep 2
out=$(m patch cm cli-cm --type merge -p '{"data":{"b":"2"}}') || fail "merge patch: $out"
expect_eq "merge patch" "$out" "configmap/cli-cm patched"
wait "$WATCH"
expect "watch first row" "$(cat "$STATE/watch.out")" "cli-cm   4"
expect "watch saw the update" "$(cat "$STATE/watch.out")" "cli-cm   5"

out=$(m patch cm cli-cm --type json -p '[{"op":"replace","path":"/data/a","value":"json"}]') || fail "json patch: $out"
expect_eq "json patch" "$out" "configmap/cli-cm patched"
out=$(m patch cm cli-cm -p '{"data":{"s":"smp"}}') || fail "strategic patch: $out"
expect_eq "strategic patch" "$out" "configmap/cli-cm patched"
expect_eq "patched values" "$(m get cm cli-cm -o 'jsonpath={.data.a},{.data.b},{.data.s}')" "json,2,smp"

out=$(m label cm cli-cm tier=web) || fail "label: $out"
expect_eq "label" "$out" "configmap/cli-cm labeled"
out=$(m label cm cli-cm tier=db) && fail "label without --overwrite must fail"
expect "label conflict" "$out" "already has a value (web)"
out=$(m label cm cli-cm tier=db --overwrite) || fail "label --overwrite: $out"
expect_eq "label overwritten" "$(m get cm cli-cm -o 'jsonpath={.metadata.labels.tier}')" "db"
out=$(m annotate cm cli-cm note=hi) || fail "annotate: $out"
expect_eq "annotate" "$out" "configmap/cli-cm annotated"
expect_eq "annotation stored" "$(m get cm cli-cm -o 'jsonpath={.metadata.annotations.note}')" "hi"

# Apply again after others changed the object: the applied fields come back, the others stay.
out=$(m apply -f "$STATE/manifests/cm.yaml") || fail "apply over changes: $out"
expect "apply configures" "$out" "configmap/cli-cm configured"
json=$(m get cm cli-cm -o json)
expect_eq "applied field restored" "$(jq -r '.data.a' <<<"$json")" "1"
expect_eq "unapplied field kept" "$(jq -r '.data.b' <<<"$json")" "2"

# edit with a scripted editor.
cat >"$STATE/editor.sh" <<'SH'
#!/bin/sh
sed -i 's/^  zip: .*/  zip: "99999"/' "$1"
SH
chmod +x "$STATE/editor.sh"
out=$(EDITOR="$STATE/editor.sh" m edit cm cli-cm) || fail "edit: $out"
expect_eq "edit" "$out" "configmap/cli-cm edited"
expect_eq "edited value" "$(m get cm cli-cm -o 'jsonpath={.data.zip}')" "99999"

m get cm cli-cm -o yaml >"$STATE/replace.yaml"
sed -i 's/^  a: "1"/  a: replaced/' "$STATE/replace.yaml"
out=$(m replace -f "$STATE/replace.yaml") || fail "replace: $out"
expect_eq "replace" "$out" "configmap/cli-cm replaced"
expect_eq "replaced" "$(m get cm cli-cm -o 'jsonpath={.data.a}')" "replaced"

# A deployment: scale and rollout restart change the stored object.
cat >"$STATE/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: busybox
        command: ["sleep", "3600"]
YAML
out=$(m create -f "$STATE/deploy.yaml") || fail "create deployment: $out"
expect_eq "create" "$out" "deployment.apps/web created"
out=$(m scale deploy/web --replicas=3) || fail "scale: $out"
expect_eq "scale" "$out" "deployment.apps/web scaled"
expect_eq "replicas stored" "$(m get deploy web -o 'jsonpath={.spec.replicas}')" "3"
out=$(m rollout restart deployment/web) || fail "rollout restart: $out"
expect_eq "rollout restart" "$out" "deployment.apps/web restarted"
out=$(m get deploy web -o 'jsonpath={.spec.template.metadata.annotations}')
expect "restartedAt stored" "$out" "kubectl.kubernetes.io/restartedAt"
out=$(m describe deploy web) || fail "describe deploy: $out"
expect "describe deploy replicas" "$out" "3 desired"

out=$(m delete cm cli-cm) || fail "delete: $out"
expect_eq "delete" "$out" 'configmap "cli-cm" deleted'
out=$(m wait --for=delete cm/cli-cm --timeout=5s) || fail "wait --for=delete: $out"
out=$(m delete -f "$STATE/manifests/cm.yaml" --ignore-not-found) || fail "delete -f: $out"
expect "delete -f secret" "$out" 'secret "cli-secret" deleted'
out=$(m delete deploy --all) || fail "delete --all: $out"
expect "delete --all" "$out" 'deployment.apps "web" deleted'
expect_eq "nothing left" "$("$MINIKD" get cm,secret,deploy -l app=cli -o name 2>/dev/null)" ""

# kubeconfig: print it, merge it into a kubeconfig with another context.
out=$(m kubeconfig) || fail "kubeconfig: $out"
expect "kubeconfig prints the server" "$out" "server: https://127.0.0.1:$PORT"
cat >"$STATE/other.yaml" <<'YAML'
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://192.0.2.1:6443"}
users:
- name: other
  user: {token: o}
contexts:
- name: other
  context: {cluster: other, user: other}
current-context: other
YAML
out=$(m kubeconfig --merge --into "$STATE/other.yaml") || fail "kubeconfig --merge: $out"
expect "merge message" "$out" 'Merged context "minikd"'
out=$(KUBECONFIG="$STATE/other.yaml" m get ns default -o name) || fail "get through the merged file: $out"
expect_eq "merged context works" "$out" "namespace/default"
expect "other context kept" "$(cat "$STATE/other.yaml")" "https://192.0.2.1:6443"

out=$(m completion bash) || fail "completion bash"
bash -n <(echo "$out") || fail "completion bash is not valid bash"
expect "completion registers" "$out" "complete -o default -F _minikd minikd"

echo "PASS: minikd CLI e2e"
