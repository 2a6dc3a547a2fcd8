#!/usr/bin/env bash
# LocalStack in host mode (no Docker) for this project.
#   localstack/run.sh install         create localstack/.venv (Python 3.13) + kinesis-mock
#   localstack/run.sh start [PORT]    start, wait for health, run init/ready.d, stay in the
#                                     foreground; Ctrl-C/exit stops it (trap)
#   localstack/run.sh run PORT -- CMD the same, then run CMD with AWS_ENDPOINT_URL set; always stop
# The Python API used by `gamepipe` is gamepipe/stack/localstack.py (same settings).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="$HERE/.venv"
PY313="${PY313:-}"
if [[ -z "$PY313" ]]; then
  if [[ -x /root/.pyenv/versions/3.13.0/bin/python3 ]]; then PY313=/root/.pyenv/versions/3.13.0/bin/python3
  else PY313="$(command -v python3.13 || true)"; fi
fi

install() {
  if [[ -f "$VENV/.installed" ]]; then return 0; fi
  [[ -n "$PY313" ]] || { echo "python3.13 not found (LocalStack host mode needs 3.13)" >&2; exit 2; }
  "$PY313" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"
  # kinesis-mock is otherwise fetched on the first Kinesis call
  FILESYSTEM_ROOT="$ROOT/.localstack/fs" OVERRIDE_IN_DOCKER=0 \
    "$VENV/bin/python" -m localstack.cli.lpm install kinesis-mock
  touch "$VENV/.installed"
}

ls_env() {
  local port="$1"
  # a fresh root per start (kinesis-mock persists streams under it) that shares the packages
  # `install` put under .localstack/fs (kinesis-mock) instead of fetching them again
  local fs="${FILESYSTEM_ROOT:-$ROOT/.localstack/run-$port}"
  rm -rf "$fs"; mkdir -p "$fs/usr/lib"
  ln -s "$ROOT/.localstack/fs/usr/lib/localstack" "$fs/usr/lib/localstack"
  export OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$fs" \
    GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$port" DNS_ADDRESS=0 \
    SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 KINESIS_LATENCY=0 \
    SERVICES="${SERVICES:-s3,kinesis,cloudformation,events,logs,iam,sts,sqs}"
}

wait_health() {
  local port="$1"
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/_localstack/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "LocalStack did not become healthy on port $port" >&2; return 1
}

stop() {
  # SIGTERM stops it in a few seconds; its shutdown has been seen to hang under load: SIGKILL after 15 s
  [[ -n "${LS_PID:-}" ]] || return 0
  kill -TERM -- "-$LS_PID" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$LS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$LS_PID" 2>/dev/null || true
  wait "$LS_PID" 2>/dev/null || true
  LS_PID=""
  case "${FILESYSTEM_ROOT:-}" in "$ROOT"/.localstack/run-*) rm -rf "$FILESYSTEM_ROOT" ;; esac
}

launch() {
  local port="$1"
  mkdir -p "$ROOT/.localstack"
  ls_env "$port"
  # own process group (setsid) so stop() also ends its kinesis-mock child
  setsid "$VENV/bin/python" -m localstack.runtime.main >>"$ROOT/.localstack/localstack.log" 2>&1 </dev/null &
  LS_PID=$!
  trap stop EXIT INT TERM
  wait_health "$port"
  # the same hooks the Docker image runs from /etc/localstack/init/ready.d (SKIP_INIT=1: none,
  # e.g. when CloudFormation is to create the resources: infrastructure/deploy.sh)
  [[ "${SKIP_INIT:-0}" == "1" ]] || for hook in "$HERE"/init/ready.d/*.py; do
    LOCALSTACK_ENDPOINT="http://127.0.0.1:$port" "$VENV/bin/python" "$hook"
  done
  echo "LocalStack up on http://127.0.0.1:$port (pid $LS_PID, log .localstack/localstack.log)"
}

cmd="${1:-start}"; shift || true
case "$cmd" in
  install) install ;;
  start)
    install; launch "${1:-4566}"
    wait "$LS_PID" ;;
  run)
    install; port="${1:-4566}"; shift; [[ "${1:-}" == "--" ]] && shift
    launch "$port"
    AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
      AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" "$@" ;;
  *) echo "usage: $0 install | start [PORT] | run PORT -- CMD..." >&2; exit 2 ;;
esac
