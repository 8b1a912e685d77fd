#!/usr/bin/env bash
# End-to-end: the dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core)
# against a live `minikd up`: login through the one-time link, pods, live updates without a reload,
# scale and restart buttons, services, events, topology, the YAML view and editor, a following log
# panel, and the 401/403 refusals. Screenshots of every view go to tests/web/artifacts/.
# Usage: bash dashboard_test.sh <path-to-minikd>
set -uo pipefail
MINIKD=${1:?usage: dashboard_test.sh <minikd binary>}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NODE_DIR="$HERE/dashboard"

STATE=$(mktemp -d /tmp/minikd-e2e-dashboard.XXXXXX)
PID=""
UP_ARGS=()
cleanup() {
  local rc=$?
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null
    # minikd must stop on SIGTERM; a hang (a stream that never ends) is a failure, not something to wait out.
    for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2>/dev/null; then
      echo "FAIL: minikd (pid $PID) did not stop within 30 s of SIGTERM; killing it and cleaning up with minikd down" >&2
      kill -9 "$PID" 2>/dev/null
      rc=1
    fi
    wait "$PID" 2>/dev/null
    "$MINIKD" down "${UP_ARGS[@]}" >/dev/null 2>&1
  fi
  rm -rf "$STATE"
  exit $rc
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- last lines of the minikd log:" >&2
  tail -n 30 "$STATE/minikd.log" >&2 2>/dev/null
  exit 1
}

[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (scripts/install-deps.sh --test installs it)"
command -v node >/dev/null || fail "no node (scripts/install-deps.sh --test installs nodejs)"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 || npm install --no-audit --no-fund --ignore-scripts) ||
    fail "npm could not install playwright-core into $NODE_DIR/node_modules"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
DPORT=$(free_port)
export KUBECONFIG="$STATE/state/kubeconfig"
export HOME="$STATE/home"
mkdir -p "$HOME" "$STATE/state"
SUFFIX=$(( $$ % 100000 ))
# A pod CIDR of our own so that nothing collides with another cluster on this host.
OCTET=$(( 100 + $$ % 100 ))

UP_ARGS=(--state-dir "$STATE/state" --listen "127.0.0.1:$PORT" --dashboard-listen "127.0.0.1:$DPORT"
  --nft-table "mkt$SUFFIX" --bridge "mkt$SUFFIX" --pod-cidr "10.$OCTET.0.0/16" --no-proxy --no-dns)
"$MINIKD" up "${UP_ARGS[@]}" >"$STATE/minikd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -skf "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && [ -s "$KUBECONFIG" ] && [ -s "$STATE/state/dashboard-url" ] && break
  kill -0 "$PID" 2>/dev/null || fail "minikd up exited"
  sleep 0.1
done
[ -s "$STATE/state/dashboard-url" ] || fail "no $STATE/state/dashboard-url after 10 s (is the dashboard wired into minikd up?)"
LOGIN_URL=$(cat "$STATE/state/dashboard-url")
grep -q "dashboard  http://127.0.0.1:$DPORT/login?token=" "$STATE/minikd.log" || fail "minikd up did not print the dashboard link"
[ "$(stat -c %a "$STATE/state/dashboard-url")" = 600 ] || fail "dashboard-url is not mode 0600"
echo "ok: minikd up serves the dashboard on 127.0.0.1:$DPORT"

# The example app the browser looks at: a deployment of 2 behind a service, and a pod that prints a line.
LOG_LINE="hello from the dashboard test $$"
kubectl apply -f - >/dev/null <<YAML || fail "kubectl apply"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: none, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  restartPolicy: Never
  containers:
  - {name: talker, image: none, command: [sh, -c, 'while true; do echo "$LOG_LINE"; sleep 1; done']}
YAML

mkdir -p "$ROOT/tests/web/artifacts"
LOGIN_URL="$LOGIN_URL" ARTIFACTS="$ROOT/tests/web/artifacts" LOG_POD=talker LOG_LINE="$LOG_LINE" \
  timeout 180 node "$NODE_DIR/dashboard.mjs" || fail "browser checks failed (screenshots in tests/web/artifacts/)"
echo "PASS: dashboard"
