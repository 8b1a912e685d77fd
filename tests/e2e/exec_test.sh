#!/usr/bin/env bash
# End-to-end (root): the real kubectl's `exec` (websocket v5.channel.k8s.io: output, stdin, exit codes,
# a terminal) and `port-forward` (SPDY/3.1 inside a websocket) against pods of a live `minikd up`, and
# minikd's own `exec`.
# Address plan: bridge mke<pid>, pods 10.243.0.0/16, API on 127.0.0.1:<free>, forwards to 127.0.0.1:<free>.
# Usage: bash exec_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=$(readlink -f "${1:?usage: exec_test.sh <minikd binary>}")
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (network namespaces, bridge)"; exit 1; }

source "$(dirname "$0")/lib.sh"
e2e_init exec
BRIDGE=mke$(( $$ % 100000 ))
flags=(--state-dir "$STATE/state" --bridge "$BRIDGE" --pod-cidr 10.243.0.0/16 --no-proxy --no-dns --no-dashboard)
DOWN_FLAGS=("${flags[@]}")
FORWARD=""
e2e_cleanup_hook() { [ -n "$FORWARD" ] && kill "$FORWARD" 2>/dev/null && wait "$FORWARD" 2>/dev/null; }

PORT=$(free_port)
private_home
export KUBECONFIG="$STATE/state/kubeconfig"
k() { /usr/bin/kubectl "$@" 2>&1; }
m() { "$MINIKD" "$@" 2>&1; }

start_minikd "${flags[@]}"
# The HTTP tool listens on 127.0.0.1 inside the pod only: reachable by port-forward, not by the pod IP.
cat >"$STATE/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: shell, labels: {app: shell}}
spec:
  containers:
  - name: main
    command: ["$MINIKD", "tool", "http", "--host", "127.0.0.1", "--port", "8080"]
    env: [{name: GREETING, value: hello-from-env}]
  - name: talker
    command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line\$i; done; sleep 1; exit 1"]
YAML
k apply -f "$STATE/pod.yaml" >/dev/null || fail "apply pod"
for _ in $(seq 1 100); do
  [ "$(k get pod shell -o jsonpath='{.status.containerStatuses[?(@.name=="main")].ready}')" = true ] && break
  sleep 0.1
done

out=$(k exec shell -c main -- sh -c 'echo out; echo err >&2') || fail "exec: $out"
expect "exec prints stdout" "$out" "out"
expect "exec prints stderr" "$out" "err"
out=$(k exec shell -c main -- sh -c 'echo $GREETING $(hostname)') || fail "exec env: $out"
expect_eq "exec sees the container's env and hostname" "$out" "hello-from-env shell"
out=$(k exec shell -c main -- sh -c 'exit 3'); code=$?
expect_eq "exec returns the command's exit code" "$code" "3"
expect "exec says so" "$out" "command terminated with exit code 3"
out=$(k exec shell -c main -- head -c 3000000 /dev/zero | wc -c)
expect_eq "exec carries 3 MB of output" "$out" "3000000"
out=$(printf 'line1\nline2\n' | k exec -i shell -c main -- sh -c 'wc -l') || fail "exec -i: $out"
expect_eq "exec -i passes stdin through and closes it" "$(echo $out)" "2"
out=$(k exec shell -c nope -- true); code=$?
[ "$code" -ne 0 ] || fail "exec into an unknown container must fail"
expect "unknown container is named" "$out" "nope"
out=$(k exec shell -c main -- no-such-command-x); code=$?
[ "$code" -ne 0 ] || fail "exec of a missing command must fail"
expect "missing command is named" "$out" "no-such-command-x"
out=$(k exec nosuchpod -- true); code=$?
expect "exec to an unknown pod" "$out" 'pods "nosuchpod" not found'
# A terminal: script(1) gives kubectl a pty; the command sees a tty and the size kubectl sent.
out=$(script -qec "stty cols 91 rows 33; /usr/bin/kubectl exec -it shell -c main -- sh -c 'tty; stty size'" /dev/null 2>&1) || fail "exec -it: $out"
expect "exec -it gets a terminal" "$out" "/dev/pts/"
expect "exec -it sends the terminal size" "$out" "33 91"

# The same through minikd's own CLI.
out=$(m exec shell -c main -- sh -c 'echo mine; exit 4'); code=$?
expect_eq "minikd exec exit code" "$code" "4"
expect "minikd exec output" "$out" "mine"
out=$(echo piped | m exec -i pod/shell -c main -- cat) || fail "minikd exec -i: $out"
expect_eq "minikd exec -i" "$out" "piped"

# port-forward: a local port to 127.0.0.1:8080 inside the pod.
LOCAL=$(free_port)
/usr/bin/kubectl port-forward pod/shell "$LOCAL:8080" >"$STATE/pf.log" 2>&1 &
FORWARD=$!
for _ in $(seq 1 50); do grep -q "Forwarding from" "$STATE/pf.log" && break; sleep 0.1; done
expect "port-forward listens" "$(cat "$STATE/pf.log")" "Forwarding from 127.0.0.1:$LOCAL -> 8080"
for i in 1 2 3; do
  out=$(curl -s --max-time 5 "http://127.0.0.1:$LOCAL/") || fail "curl through port-forward ($i): $(cat "$STATE/pf.log")"
  expect "port-forward request $i answered by the pod" "$out" "shell"
done
big=$(curl -s --max-time 10 "http://127.0.0.1:$LOCAL/bytes/3000000" | wc -c)
expect_eq "port-forward carries 3 MB" "$big" "3000000"
kill -0 "$FORWARD" || fail "port-forward exited: $(cat "$STATE/pf.log")"
kill "$FORWARD"; wait "$FORWARD" 2>/dev/null; FORWARD=""

# minikd's own port-forward, two connections at once.
LOCAL=$(free_port)
"$MINIKD" port-forward pod/shell "$LOCAL:8080" >"$STATE/mpf.log" 2>&1 &
FORWARD=$!
for _ in $(seq 1 50); do grep -q "Forwarding from" "$STATE/mpf.log" && break; sleep 0.1; done
expect "minikd port-forward listens" "$(cat "$STATE/mpf.log")" "Forwarding from 127.0.0.1:$LOCAL -> 8080"
curl -s --max-time 5 "http://127.0.0.1:$LOCAL/" >"$STATE/c1" & c1=$!
out=$(curl -s --max-time 5 "http://127.0.0.1:$LOCAL/bytes/2000000" | wc -c)
wait "$c1"
expect "minikd port-forward: a request answered by the pod" "$(cat "$STATE/c1")" "pod: shell"
expect_eq "minikd port-forward carries 2 MB" "$out" "2000000"
for i in $(seq 1 50); do  # connections come and go: each is forgotten once both sides ended
  curl -s --max-time 5 "http://127.0.0.1:$LOCAL/" | grep -q "pod: shell" || fail "minikd port-forward request $i: $(cat "$STATE/mpf.log")"
done
ok "minikd port-forward: 50 connections one after another"
kill -0 "$FORWARD" || fail "minikd port-forward exited: $(cat "$STATE/mpf.log")"
kill "$FORWARD"; wait "$FORWARD" 2>/dev/null; FORWARD=""
# Through a Service: its port 80 means the pod's targetPort 8080.
k create service clusterip shell --tcp=80:8080 --dry-run=client -o yaml | k apply -f - >/dev/null || fail "service"
LOCAL=$(free_port)
"$MINIKD" port-forward svc/shell "$LOCAL:80" >"$STATE/spf.log" 2>&1 &
FORWARD=$!
for _ in $(seq 1 50); do grep -q "Forwarding from" "$STATE/spf.log" && break; sleep 0.1; done
expect "minikd port-forward svc/ maps the service port to the targetPort" "$(cat "$STATE/spf.log")" "Forwarding from 127.0.0.1:$LOCAL -> 8080"
expect "minikd port-forward svc/ reaches the pod" "$(curl -s --max-time 5 "http://127.0.0.1:$LOCAL/")" "pod: shell"
kill "$FORWARD"; wait "$FORWARD" 2>/dev/null; FORWARD=""

# logs: a container by name, --tail, and --previous once the talker has been restarted.
out=$(k logs shell -c talker --tail=2) || fail "logs --tail: $out"
expect_eq "logs -c --tail=2" "$out" "$(printf 'line4\nline5')"
for _ in $(seq 1 200); do
  [ "$(k get pod shell -o jsonpath='{.status.containerStatuses[?(@.name=="talker")].restartCount}')" -ge 1 ] 2>/dev/null && break
  sleep 0.1
done
out=$(k logs shell -c talker --previous) || fail "logs --previous: $(k get pod shell -o yaml)"
expect_eq "logs --previous has the ended instance" "$out" "$(printf 'line1\nline2\nline3\nline4\nline5')"
out=$(k logs shell) || fail "logs without -c: $out"
out=$(k describe pod shell) || fail "describe pod: $out"
expect "describe pod lists both containers" "$out" "talker:"
expect "describe pod shows events" "$out" "Started"
expect "describe pod shows the back-off" "$out" "BackOff"

k delete pod shell --grace-period=1 >/dev/null || fail "delete pod"
echo "PASS: exec e2e"
