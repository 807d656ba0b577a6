#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: unit tests and the integration tests,
# which run the real stack on the real engine. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
