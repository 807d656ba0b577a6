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
# Every dependency at the version tested, each file checked against its sha256 (requirements.lock,
# made by pip-compile --generate-hashes from pyproject.toml); then stackctl itself, with nothing
# more fetched (no build isolation: the lock's setuptools builds it).
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock \
  2> >(grep -v "is ignored" >&2)
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
  2> >(grep -v "is ignored" >&2)
# stackctl's own modules compiled now: an editable install leaves that to the first import, and
# where PYTHONDONTWRITEBYTECODE is set (these machines) every command would compile them again
# (~0.13 s of CPU each; the test suite starts stackctl about 2,000 times).
.venv/bin/python -m compileall -q stackctl >/dev/null

bash scripts/standin-images.sh
say "ready in $((SECONDS - start)) s: .venv/bin/stackctl up"
