# Shared helpers of the e2e scripts (tests/e2e/*_test.sh). Not a test itself: the name does not match
# the ctest glob `*_test.sh`. Source it after setting MINIKD:
#   source "$(dirname "$0")/lib.sh"
#   e2e_init <name>            # STATE=/tmp/minikd-e2e-<name>.XXXXXX, cleanup on EXIT
#   PORT=$(free_port)
#   start_minikd <flags…>      # `minikd up <flags…> --listen 127.0.0.1:$PORT`, waits for readyz + kubeconfig
# Globals it sets or reads: MINIKD (in), STATE, PID (the running `minikd up`), PORT (in), DOWN_FLAGS (in:
# when not empty, cleanup runs `minikd down "${DOWN_FLAGS[@]}"`). A script that starts more background
# processes defines `e2e_cleanup_hook` to end them; cleanup calls it first.

PID=""
DOWN_FLAGS=()

# Creates the script's temp dir STATE and installs the EXIT trap.
e2e_init() {
  STATE=$(mktemp -d "/tmp/minikd-e2e-$1.XXXXXX")
  trap e2e_cleanup EXIT
}

# Ends what the script started: its own extras (e2e_cleanup_hook), the minikd by PID, `minikd down` with
# DOWN_FLAGS when the script set them, and the temp dir.
e2e_cleanup() {
  if declare -F e2e_cleanup_hook >/dev/null; then e2e_cleanup_hook; fi
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
  if [ "${#DOWN_FLAGS[@]}" -gt 0 ]; then "$MINIKD" down "${DOWN_FLAGS[@]}" >/dev/null 2>&1; fi
  rm -rf "$STATE"
}

# fail <message>: prints FAIL and the end of the minikd log, exits 1.
fail() {
  echo "FAIL: $*" >&2
  echo "--- last lines of the minikd log:" >&2
  tail -n 30 "$STATE/minikd.log" >&2 2>/dev/null
  exit 1
}
ok() { echo "ok: $*"; }
# expect "<description>" "<haystack>" "<needle>"
expect() { [[ "$2" == *"$3"* ]] || fail "$1: expected \"$3\" in: $2"; ok "$1"; }
# expect_eq "<description>" "<got>" "<want>"
expect_eq() { [[ "$2" == "$3" ]] || fail "$1: expected \"$3\", got \"$2\""; ok "$1"; }

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Points HOME at $STATE/home (kubectl's discovery and http caches go there, not into the user's home).
private_home() {
  export HOME="$STATE/home"
  mkdir -p "$HOME"
}

# start_minikd <flags…>: runs `minikd up <flags…> --listen 127.0.0.1:$PORT` in the background (log appended
# to $STATE/minikd.log), sets PID, and waits up to 10 s for /readyz and $STATE/state/kubeconfig.
start_minikd() {
  "$MINIKD" up "$@" --listen "127.0.0.1:$PORT" >>"$STATE/minikd.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    curl -skf "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && [ -s "$STATE/state/kubeconfig" ] && return 0
    kill -0 "$PID" 2>/dev/null || fail "minikd up exited"
    sleep 0.1
  done
  fail "minikd not ready on port $PORT (or no kubeconfig) after 10 s"
}
