#!/usr/bin/env bash
# Everything stackctl needs on a fresh machine, idempotent: a Docker engine and compose v2
# (scripts/provision-engine.sh), a virtualenv with stackctl installed (.venv), and images the
# stack can run (scripts/standin-images.sh: the official ones, or stand-ins without a registry).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { printf '[setup] %s\n' "$*" >&2; }

start=$SECONDS
bash scripts/provision-engine.sh

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
say "installing stackctl into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2> >(grep -v "is ignored" >&2)

bash scripts/standin-images.sh
say "ready in $((SECONDS - start)) s: .venv/bin/stackctl up"
