#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: unit tests and the integration tests,
# which run the real stack on the real engine. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
# testssl.sh checks production TLS in the integration tests (Debian's archive has it).
if ! command -v testssl >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "[test] installing testssl.sh"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends testssl.sh >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
