#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: unit tests and the integration tests,
# which run the real stack on the real engine. Extra arguments go to pytest.
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
# testssl.sh checks production TLS in the integration tests (Debian's archive has it).
if ! command -v testssl >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "[test] installing testssl.sh"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends testssl.sh >/dev/null
fi
if [ "$repeat" = 1 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
for run in $(seq 1 "$repeat"); do
  started=$SECONDS
  if ! .venv/bin/python -m pytest -q "$@"; then
    echo "[test] run $run of $repeat failed after $((SECONDS - started)) s"
    exit 1
  fi
  echo "[test] run $run of $repeat passed in $((SECONDS - started)) s"
done
