#!/usr/bin/env bash
# End-to-end: Deployments, ReplicaSets and garbage collection through the real kubectl, against a live
# `minikd up` serving the API and the controllers on a free loopback port (no pods are run: a FAKE
# KUBELET loop below marks pods Running/Ready through the status subresource, like tests/bench does).
# Checks: rollout status, scale, rollout restart/history/undo, cascade (background/foreground) and
# orphan deletes.
# Usage: bash workloads_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=${1:?usage: workloads_test.sh <minikd binary>}

source "$(dirname "$0")/lib.sh"
e2e_init workloads
KUBELET=""
e2e_cleanup_hook() {
  if [ -n "$KUBELET" ]; then kill "$KUBELET" 2>/dev/null; wait "$KUBELET" 2>/dev/null; fi
}
k() { kubectl "$@" 2>&1; }
# Waits up to 30 s for a command's output to equal a value.
wait_eq() {
  local what=$1 want=$2 got=""
  shift 2
  for _ in $(seq 1 300); do
    got=$("$@" 2>/dev/null)
    [[ "$got" == "$want" ]] && { echo "ok: $what"; return 0; }
    sleep 0.1
  done
  fail "$what: expected \"$want\", got \"$got\""
}

PORT=$(free_port)
export KUBECONFIG="$STATE/state/kubeconfig"
private_home
mkdir -p "$STATE/state"

start_minikd --state-dir "$STATE/state" --no-pods --no-proxy --no-dns --no-dashboard

# FAKE KUBELET: every pod that is not Ready yet becomes Running and Ready.
(
  while true; do
    for pod in $(kubectl get pods -o jsonpath='{range .items[?(@.status.phase!="Running")]}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
      kubectl patch pod "$pod" --subresource=status --type=merge \
        -p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.9\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}" >/dev/null 2>&1
    done
    sleep 0.2
  done
) &
KUBELET=$!

cat >"$STATE/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: minikd-tool
        command: ["/usr/local/bin/minikd", "tool", "http"]
YAML
out=$(k apply -f "$STATE/web.yaml") || fail "apply: $out"
out=$(k rollout status deploy/web --timeout=60s) || fail "rollout status: $out"
expect "rollout status" "$out" 'deployment "web" successfully rolled out'
wait_eq "3 pods" 3 bash -c "kubectl get pods -l app=web -o name | wc -l"
rs=$(kubectl get rs -l app=web -o jsonpath='{.items[0].metadata.name}')
hash=$(kubectl get rs "$rs" -o jsonpath='{.metadata.labels.pod-template-hash}')
expect_eq "rs name is <deploy>-<hash>" "$rs" "web-$hash"
expect_eq "rs revision" "$(kubectl get rs "$rs" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" "1"

out=$(k scale deploy/web --replicas=5) || fail "scale: $out"
out=$(k rollout status deploy/web --timeout=60s) || fail "rollout status after scale: $out"
wait_eq "5 pods after scale" 5 bash -c "kubectl get pods -l app=web -o name | wc -l"

out=$(k rollout restart deploy/web) || fail "rollout restart: $out"
out=$(k rollout status deploy/web --timeout=60s) || fail "rollout status after restart: $out"
expect "restart rolled out" "$out" "successfully rolled out"
wait_eq "two replicasets" 2 bash -c "kubectl get rs -l app=web -o name | wc -l"
out=$(k rollout history deploy/web) || fail "history: $out"
expect "history lists revision 2" "$out" "2 "
out=$(k rollout undo deploy/web --to-revision=1) || fail "undo: $out"
expect "undo" "$out" "rolled back"
out=$(k rollout status deploy/web --timeout=60s) || fail "rollout status after undo: $out"
wait_eq "undo re-uses the first replicaset (revision 3, history 1)" "3 1" \
  kubectl get rs "$rs" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.annotations.deployment\.kubernetes\.io/revision-history}'
wait_eq "deployment revision" 3 kubectl get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}'

# Cascade: a pod deleted by hand is replaced; deleting the Deployment removes ReplicaSets and pods.
victim=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
out=$(k delete pod "$victim" --wait=false) || fail "delete pod: $out"
wait_eq "deleted pod replaced" 5 bash -c "kubectl get pods -l app=web -o name | grep -v $victim | wc -l"
out=$(k delete deploy web --cascade=foreground --wait=true --timeout=60s) || fail "delete deploy: $out"
wait_eq "replicasets gone" 0 bash -c "kubectl get rs -l app=web -o name | wc -l"
wait_eq "pods gone" 0 bash -c "kubectl get pods -l app=web -o name | wc -l"

# Orphan: the ReplicaSet survives without its owner reference.
sed 's/name: web$/name: keep/; s/app: web/app: keep/g' "$STATE/web.yaml" >"$STATE/keep.yaml"
out=$(k apply -f "$STATE/keep.yaml") || fail "apply keep: $out"
out=$(k rollout status deploy/keep --timeout=60s) || fail "rollout status keep: $out"
out=$(k delete deploy keep --cascade=orphan) || fail "orphan delete: $out"
wait_eq "deployment gone" "" bash -c "kubectl get deploy keep -o name 2>/dev/null"
wait_eq "orphaned replicaset has no owner" "" kubectl get rs -l app=keep -o jsonpath='{.items[0].metadata.ownerReferences}'
wait_eq "its pods stay" 3 bash -c "kubectl get pods -l app=keep -o name | wc -l"
echo "PASS"
