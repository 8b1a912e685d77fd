#!/usr/bin/env bash
# End-to-end (root): `minikd up` with pods on its own bridge and pod CIDR; two pods talk over TCP by IP,
# their logs come through the API; after SIGKILL of minikd, `up` again recreates the pods, and `down`
# leaves no namespace, link or process of minikd behind.
# Address plan: bridge mkp<pid>, pods 10.248.0.0/16 (gateway 10.248.0.1), API on 127.0.0.1:<free>.
# Usage: bash pods_lifecycle_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=$(readlink -f "${1:?usage: pods_lifecycle_test.sh <minikd binary>}")
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (network namespaces, bridge)"; exit 1; }

source "$(dirname "$0")/lib.sh"
e2e_init pods
BRIDGE=mkp$(( $$ % 100000 ))
HTTP_PORT=$(( 20000 + $$ % 10000 ))
flags=(--state-dir "$STATE/state" --bridge "$BRIDGE" --pod-cidr 10.248.0.0/16 --no-proxy --no-dns --no-dashboard)
DOWN_FLAGS=("${flags[@]}")

PORT=$(free_port)
private_home
k() { KUBECONFIG="$STATE/state/kubeconfig" /usr/bin/kubectl "$@" 2>&1; }
wait_running() {  # name
  for _ in $(seq 1 100); do
    [ "$(k get pod "$1" -o jsonpath='{.status.phase}')" = Running ] && return 0
    sleep 0.1
  done
  fail "pod $1 not Running: $(k get pod "$1" -o yaml)"
}

start_minikd "${flags[@]}"
cat >"$STATE/server.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec:
  containers:
  - name: http
    command: ["$MINIKD", "tool", "http", "--port", "$HTTP_PORT"]
YAML
k apply -f "$STATE/server.yaml" >/dev/null || fail "apply server"
wait_running server
SERVER_IP=$(k get pod server -o jsonpath='{.status.podIP}')
[[ "$SERVER_IP" == 10.248.* ]] || fail "server IP $SERVER_IP not from the pod CIDR"
ok "server Running at $SERVER_IP"
cat >"$STATE/client.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: curl
    command: ["/bin/sh", "-c", "for i in \$(seq 1 50); do curl -s -m 1 http://$SERVER_IP:$HTTP_PORT/ && break; sleep 0.2; done; echo; echo done; exec sleep 100000"]
YAML
k apply -f "$STATE/client.yaml" >/dev/null || fail "apply client"
wait_running client
for _ in $(seq 1 50); do
  logs=$(k logs client)
  [[ "$logs" == *done* ]] && break
  sleep 0.2
done
[[ "$logs" == *server* ]] || fail "client did not reach the server by IP: $logs"
ok "pod to pod over TCP by IP (the answer names the server pod)"
[[ "$(k get pod client -o jsonpath='{.status.podIP}')" != "$SERVER_IP" ]] || fail "two pods share an IP"

netns=$(ip netns list | awk '{print $1}' | grep '^minikd-' || true)
[ "$(echo "$netns" | grep -c .)" -ge 2 ] || fail "expected 2 pod namespaces, got: $netns"
ok "pod namespaces visible to ip netns"

# A crash: SIGKILL leaves the pods' namespaces and processes behind.
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
pgrep -f "tool http --port $HTTP_PORT" >/dev/null || fail "expected the server process to outlive a SIGKILLed minikd"
start_minikd "${flags[@]}"
wait_running server
wait_running client
[ "$(pgrep -fc "tool http --port $HTTP_PORT")" -eq 1 ] || fail "after restart: not exactly one server process"
ok "up after a crash cleans the leftovers and recreates the pods"

"$MINIKD" down "${flags[@]}" >>"$STATE/minikd.log" 2>&1 || fail "minikd down"
wait "$PID" 2>/dev/null; PID=""
for ns in $netns; do ip netns list | grep -q "^$ns" && fail "namespace $ns left after down"; done
ip link show "$BRIDGE" >/dev/null 2>&1 && fail "bridge $BRIDGE left after down"
pgrep -f "tool http --port $HTTP_PORT" >/dev/null && fail "server process left after down"
pgrep -f "curl -s -m 1 http://$SERVER_IP" >/dev/null && fail "client process left after down"
ok "down leaves no namespace, link or process"
echo PASS
