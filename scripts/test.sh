#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: unit tests and the integration tests, which run
# the real stack on the real engine. Independent tests run side by side (pytest-xdist,
# STACKCTL_TEST_WORKERS, default 4: the tests mostly wait on containers; a module whose tests
# share one stack, or the swarm, stays on one worker); a test that changes what every other one
# relies on (it prunes the engine's containers) runs alone after them. Each test has a time
# limit (900 s) and the slowest are listed; the longest start first (tests/ordering.py, from
# tests/durations.json), and this run's seconds per test are written to
# .stackctl/test-durations.json. Extra arguments go to pytest; naming a test file or test runs
# just that, in one process.
# --repeat N: the whole suite N times in a row, stopping at the first run that fails; each
# run's time is printed (flakes are bugs: this is how a fix is shown to hold).
set -euo pipefail
repeat=1
if [ "${1:-}" = "--repeat" ]; then
  repeat=${2:?--repeat needs a number}
  shift 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
# testssl.sh checks production TLS, slowhttptest production nginx against slow clients, and
# rclone serves a restic REST repository for the off-site tests (Debian's archive has all three).
missing=()
for tool in testssl:testssl.sh slowhttptest:slowhttptest rclone:rclone; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "[test] installing ${missing[*]}"  # one apt run for all of them
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

for arg in "$@"; do
  case "$arg" in
    tests/*|*::*) exec .venv/bin/python -m pytest --timeout 900 "$@" ;;  # what was named, as named
  esac
done

workers=${STACKCTL_TEST_WORKERS:-4}
# The swarm scenario runs beside the others, but leaving a swarm under running stacks breaks name
# resolution on their networks (../shared/ENGINE.md): the engine becomes a swarm before the
# side-by-side phase and leaves it after, with nothing running (tests/integration/test_swarm.py).
swarm_was=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown)
swarm_begin() {
  if [ "$swarm_was" != active ]; then docker swarm init --advertise-addr 127.0.0.1 >/dev/null; fi
  export STACKCTL_TEST_SWARM_MANAGED=1
}
swarm_end() {
  unset STACKCTL_TEST_SWARM_MANAGED
  if [ "$swarm_was" != active ]; then docker swarm leave --force >/dev/null || true; fi
}
trap swarm_end INT TERM
suite() {
  local started=$SECONDS
  swarm_begin
  .venv/bin/python -m pytest -q -n "$workers" --dist loadgroup --no-loadscope-reorder -m "not serial" --timeout 900 \
    --durations 30 --durations-file="${STACKCTL_TEST_DURATIONS:-.stackctl/test-durations.json}" "$@" \
    || { swarm_end; return 1; }
  swarm_end
  echo "[test] side by side ($workers workers): $((SECONDS - started)) s"
  local alone=$SECONDS
  .venv/bin/python -m pytest -q -m serial --timeout 900 --durations 5 "$@" || return 1
  echo "[test] alone: $((SECONDS - alone)) s; in all $((SECONDS - started)) s"
}

for run in $(seq 1 "$repeat"); do
  started=$SECONDS
  if ! suite "$@"; then
    echo "[test] run $run of $repeat failed after $((SECONDS - started)) s"
    exit 1
  fi
  [ "$repeat" = 1 ] || echo "[test] run $run of $repeat passed in $((SECONDS - started)) s"
done
