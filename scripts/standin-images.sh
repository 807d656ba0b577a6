#!/usr/bin/env bash
# Make every base/service image the stack needs available to the engine.
# For each *_IMAGE setting in .env.example: if the default image is present or can be
# pulled, nothing happens. If no registry answers (our machines), build a stand-in from
# Debian's archive with an honest name of its own (stackctl-standin/...) that honours the
# official image's contract, and record the choice in .stackctl/images.env, which stackctl
# loads beneath .env / .env.production (so a user's own setting always wins).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE="$ROOT/scripts/standin"
OUT="$ROOT/.stackctl/images.env"
BASE=stackctl-standin/debian:bookworm
say() { printf '[images] %s\n' "$*" >&2; }

# setting -> stand-in directory under scripts/standin and its tag
declare -A STANDIN=(
  [POSTGRES_IMAGE]="postgis stackctl-standin/postgis:15-3.3"
  [REDIS_IMAGE]="redis stackctl-standin/redis:7.0"
  [NGINX_IMAGE]="nginx stackctl-standin/nginx:1.22"
  [PYTHON_IMAGE]="python stackctl-standin/python:3.11"
  [NODE_IMAGE]="node stackctl-standin/node:18"
  [MARIADB_IMAGE]="mariadb stackctl-standin/mariadb:10.11"
  [STACKCTL_RESTIC_IMAGE]="restic stackctl-standin/restic:0.14"
  [REGISTRY_IMAGE]="registry stackctl-standin/registry:2.8"
  [DIND_IMAGE]="dind stackctl-standin/dind:20.10"
  [PEBBLE_IMAGE]="pebble stackctl-standin/pebble:2.4"
)
# Images the test projects use beyond the reference stack's (tests/projects), with their defaults.
# REGISTRY_IMAGE: a registry on your own host (and the tests'); DIND_IMAGE: an engine in a container;
# PEBBLE_IMAGE: Let's Encrypt's test ACME server (scripts/pebble.sh).
EXTRA=$'MARIADB_IMAGE=mariadb:11.4\nREGISTRY_IMAGE=registry:2\nDIND_IMAGE=docker:20.10-dind\nPEBBLE_IMAGE=ghcr.io/letsencrypt/pebble:2.4.0'

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$m" ] || { say "no Debian mirror found in /etc/apt sources; set DEBIAN_MIRROR"; exit 1; }
  echo "$m"
}

# The base's own recipe: bump it when build_base changes, and every stand-in is rebuilt on the new base.
BASE_RECIPE=3  # 2: the root folder is 0755 (mktemp -d made it 0700: on a vfs engine, a non-root process could not
               # reach / at all: "exec: sh: permission denied"); 3: dpkg does not fsync each file it unpacks
               # (as Debian's official images: an image build that dies is thrown away whole)

build_base() {
  [ "$(docker image inspect -f '{{index .Config.Labels "stackctl.standin.base"}}' "$BASE" 2>/dev/null)" = "$BASE_RECIPE" ] \
    && return
  # mmdebstrap: apt fetches and unpacks the base in 13 s where debootstrap took 27 s.
  command -v mmdebstrap >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  }
  local mirror="${DEBIAN_MIRROR:-$(debian_mirror)}" dir
  dir=$(mktemp -d)
  say "mmdebstrap bookworm (minbase) for $BASE"
  mmdebstrap --quiet --variant=minbase bookworm "$dir" "$mirror" >/dev/null
  chmod 0755 "$dir"  # the image's /: tar records the folder's own mode as the root entry
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    > "$dir/etc/apt/apt.conf.d/90stackctl-norecommends"
  echo force-unsafe-io > "$dir/etc/dpkg/dpkg.cfg.d/90stackctl-unsafe-io"
  # The host's CA bundle at a path of its own: apt's ca-certificates would overwrite
  # /etc/ssl/certs/ca-certificates.crt (shared/ENGINE.md).
  mkdir -p "$dir/usr/local/share/host-ca"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/usr/local/share/host-ca/bundle.pem"
  local ca=/usr/local/share/host-ca/bundle.pem
  tar -C "$dir" -c . | docker import \
    --change "ENV SSL_CERT_FILE=$ca" --change "ENV PIP_CERT=$ca" \
    --change "ENV REQUESTS_CA_BUNDLE=$ca" --change "ENV NODE_EXTRA_CA_CERTS=$ca" \
    --change "ENV NPM_CONFIG_CAFILE=$ca" --change "ENV LANG=C.UTF-8" \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'CMD ["bash"]' --change "LABEL stackctl.standin.base=$BASE_RECIPE" - "$BASE" >/dev/null
  rm -rf "$dir"
}

# A stand-in is rebuilt when its recipe (the files of its folder) changed since it was built.
recipe_hash() {  # its folder's files and the base it is built on
  { (cd "$HERE/$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); echo "base $BASE_RECIPE"; } \
    | sha256sum | cut -c1-16
}

stale() {  # dir tag: its recipe changed since it was built (or it was never built)
  [ "$(docker image inspect -f '{{index .Config.Labels "stackctl.standin.recipe"}}' "$2" 2>/dev/null)" != "$(recipe_hash "$1")" ]
}

build_standin() {  # dir tag (the base is built)
  local start=$SECONDS
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE" --label "stackctl.standin.recipe=$(recipe_hash "$1")" \
    -t "$2" "$HERE/$1" >/dev/null 2>"$ROOT/.stackctl/standin-$1.log" || return 1
  say "built $2 in $((SECONDS - start)) s"
}

# The stale stand-ins are built side by side: each is mostly apt fetching and unpacking (on a fresh machine
# one after another took 119 s, the longest alone 33 s).
build_stale() {  # "dir tag"...
  local -A building=()
  local each dir tag failed=0
  for each in "$@"; do
    read -r dir tag <<<"$each"
    if stale "$dir" "$tag"; then building[$dir]=$tag; else say "$tag present"; fi
  done
  [ ${#building[@]} -gt 0 ] || return 0
  build_base
  say "building ${building[*]}"
  local -A pid=()
  for dir in "${!building[@]}"; do
    build_standin "$dir" "${building[$dir]}" & pid[$dir]=$!
  done
  for dir in "${!pid[@]}"; do
    wait "${pid[$dir]}" && continue
    failed=1
    say "building ${building[$dir]} failed: see .stackctl/standin-$dir.log"
    tail -n 20 "$ROOT/.stackctl/standin-$dir.log" >&2
  done
  return $failed
}

mkdir -p "$ROOT/.stackctl"
tmp=$(mktemp)
standins=()
echo "# Written by scripts/standin-images.sh: images this machine can use. .env wins over it." > "$tmp"
# Defaults come from .env.example, the documented source of every setting.
while IFS='=' read -r key default; do
  [ -n "${STANDIN[$key]:-}" ] || continue
  if have_image "$default" || timeout 60 docker pull -q "$default" >/dev/null 2>&1; then
    say "$key: $default"
    continue
  fi
  read -r dir tag <<<"${STANDIN[$key]}"
  standins+=("$dir $tag")
  echo "$key=$tag" >> "$tmp"
done < <(grep -E '^[A-Z_]+_IMAGE=' "$ROOT/.env.example"; echo "$EXTRA")
build_stale "${standins[@]}"
# The base of stackctl's edge image (stackctl/edge/image, built by stackctl itself): Debian 12.
if have_image debian:bookworm-slim || timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  say "STACKCTL_EDGE_BASE_IMAGE: debian:bookworm-slim"
else
  build_base
  echo "STACKCTL_EDGE_BASE_IMAGE=$BASE" >> "$tmp"
fi
mv "$tmp" "$OUT"
say "image settings written to .stackctl/images.env"
