#!/usr/bin/env bash
# End-to-end (root): a rolling update (maxSurge 1, maxUnavailable 0, readiness-gated, draining pods)
# while a client loops through the Service's ClusterIP from the host: zero failed requests. Then
# Recreate, and a cascade delete that removes ReplicaSets and pods.
# Address plan: bridge mko<pid>, pods 10.249.0.0/16, services 10.95.0.0/16 (DNS 10.95.0.10),
# nft table mko<pid>, API on 127.0.0.1:<free>. Nothing else is contacted.
# Usage: bash rollout_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=$(readlink -f "${1:?usage: rollout_test.sh <minikd binary>}")
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (network namespaces, bridge, nftables)"; exit 1; }
source "$(dirname "$0")/lib.sh"
e2e_init rollout
TAG=mko$(( $$ % 100000 ))
CLIENT=""
flags=(--state-dir "$STATE/state" --bridge "$TAG" --nft-table "$TAG" --pod-cidr 10.249.0.0/16
       --service-cidr 10.95.0.0/16 --cluster-dns 10.95.0.10 --dns-upstream 127.0.0.1:9 --no-dashboard)
DOWN_FLAGS=("${flags[@]}")
e2e_cleanup_hook() { [ -n "$CLIENT" ] && kill "$CLIENT" 2>/dev/null; }

PORT=$(free_port)
start_minikd "${flags[@]}"
private_home
k() { KUBECONFIG="$STATE/state/kubeconfig" /usr/bin/kubectl "$@" 2>&1; }

sed "s#/usr/local/bin/minikd#$MINIKD#" "$(dirname "$0")/../../examples/rolling-update/rolling-update.yaml" >"$STATE/roll.yaml"
k apply -f "$STATE/roll.yaml" >/dev/null || fail "apply"
out=$(k rollout status deploy/rollme --timeout=60s) || fail "initial rollout: $out"
ok "initial rollout: $out"
IP=$(k get svc rollme -o jsonpath='{.spec.clusterIP}')
[[ "$IP" == 10.95.* ]] || fail "ClusterIP $IP"

# Cluster DNS inside a pod, through its resolv.conf search path (issue 5): short and namespaced names.
cat >"$STATE/dns.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: dnscheck}
spec:
  restartPolicy: Never
  containers:
  - name: c
    command: ["/bin/sh", "-c", "getent hosts rollme; getent hosts rollme.default; getent hosts kubernetes.default.svc.cluster.local; curl -s -m 2 http://rollme/ | head -1"]
YAML
k apply -f "$STATE/dns.yaml" >/dev/null || fail "apply dnscheck"
for _ in $(seq 1 300); do
  [ "$(k get pod dnscheck -o jsonpath='{.status.phase}')" = Succeeded ] && break
  sleep 0.1
done
logs=$(k logs dnscheck)
expect "getent hosts rollme resolves to the ClusterIP" "$logs" "$IP      rollme.default.svc.cluster.local"
[ "$(echo "$logs" | grep -c "$IP ")" -ge 2 ] || fail "rollme.default did not resolve: $logs"
expect "kubernetes.default.svc.cluster.local resolves" "$logs" "kubernetes.default.svc.cluster.local"
expect "a pod reaches the service by name" "$logs" "pod: rollme-"
k delete pod dnscheck >/dev/null

# About 40 s of requests: longer than the rolling update, which must finish while they run.
"$MINIKD" tool client "http://$IP/" --count 2000 --interval 20ms --timeout 2s >"$STATE/client.log" 2>&1 &
CLIENT=$!
sleep 1
k rollout restart deploy/rollme >/dev/null || fail "rollout restart"
out=$(k rollout status deploy/rollme --timeout=120s) || fail "rollout status: $out"
ok "rolling update done: $(echo "$out" | tail -1)"
kill -0 "$CLIENT" 2>/dev/null || fail "the client ended before the rolling update did: $(tail -3 "$STATE/client.log")"
wait "$CLIENT"; CLIENT=""
report=$(cat "$STATE/client.log")
echo "$report" | tail -3
[[ "$report" == *"errors: 0"* ]] || fail "requests failed during the rolling update: $report"
requests=$(echo "$report" | grep -oE 'requests: [0-9]+' | grep -oE '[0-9]+' | head -1)
[ "${requests:-0}" -ge 50 ] || fail "too few requests made: $report"
ok "zero failed requests during the rolling update ($requests requests)"
[ "$(k get rs -l app=rollme -o name | wc -l)" -eq 2 ] || fail "expected 2 ReplicaSets after one update"

k patch deploy rollme --type=merge -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}' >/dev/null || fail "switch to Recreate"
k set env deploy/rollme MESSAGE="version 3" >/dev/null || fail "set env"
out=$(k rollout status deploy/rollme --timeout=120s) || fail "Recreate rollout: $out"
ok "Recreate rollout"

k delete deploy rollme >/dev/null || fail "delete"
for _ in $(seq 1 100); do
  [ -z "$(k get rs,pods -l app=rollme -o name)" ] && break
  sleep 0.2
done
[ -z "$(k get rs,pods -l app=rollme -o name)" ] || fail "cascade delete left: $(k get rs,pods -l app=rollme -o name)"
ok "cascade delete removed the ReplicaSets and pods"
echo PASS
