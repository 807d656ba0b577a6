#!/usr/bin/env bash
# Let's Encrypt's test ACME server on a docker network, for trying `tls: acme` offline and for the
# tests: scripts/pebble.sh NETWORK starts pebble (PEBBLE_IMAGE: the stand-in from Debian's archive
# on machines without a registry, scripts/standin-images.sh) on NETWORK with the alias `pebble`,
# waits until its directory answers, and prints, as shell lines to eval:
#   STACKCTL_ACME_DIRECTORY=https://pebble:14000/dir
#   STACKCTL_ACME_CA_FILE=...    the CA of pebble's own listener (an ACME client must trust it)
#   STACKCTL_ACME_ROOT_FILE=...  the root that signs the certificates pebble issues (verify with it)
# Its challenges are validated on ports 80 (http-01) and 443 (tls-alpn-01) of the names asked for,
# resolved on NETWORK (an edge carries its hosts as network aliases), without pebble's random
# sleeps, and no nonce is refused at random. A restarted pebble has a new root: run this again.
# Files go to STACKCTL_PEBBLE_DIR (default .stackctl/pebble/NETWORK). Needs a local engine (the
# host reaches the container's address) and curl.
# scripts/pebble.sh --stop NETWORK removes it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '[pebble] %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

stop=0
if [ "${1:-}" = "--stop" ]; then stop=1; shift; fi
[ $# -eq 1 ] || die "usage: scripts/pebble.sh [--stop] NETWORK"
network=$1
[[ "$network" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "'$network' is not a docker network name"
name="stackctl-pebble-$network"
if [ "$stop" = 1 ]; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  say "stopped $name"; exit 0
fi
command -v curl >/dev/null || die "curl is needed: apt-get install curl"
docker network inspect "$network" >/dev/null 2>&1 || die "no docker network '$network': create it (docker network create $network) or name one that exists"

image=${PEBBLE_IMAGE:-}
if [ -z "$image" ] && [ -f "$ROOT/.stackctl/images.env" ]; then
  image=$(sed -n 's/^PEBBLE_IMAGE=//p' "$ROOT/.stackctl/images.env" | tail -n 1)
fi
if [ -z "$image" ] || ! docker image inspect "$image" >/dev/null 2>&1; then
  bash "$ROOT/scripts/standin-images.sh" >/dev/null
  image=$(sed -n 's/^PEBBLE_IMAGE=//p' "$ROOT/.stackctl/images.env" | tail -n 1)
  image=${image:-ghcr.io/letsencrypt/pebble:2.4.0}
fi

dir=${STACKCTL_PEBBLE_DIR:-$ROOT/.stackctl/pebble/$network}
mkdir -p "$dir"
if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  config=$(mktemp)
  trap 'rm -f "$config"' EXIT
  cat > "$config" <<'JSON'
{
  "pebble": {
    "listenAddress": "0.0.0.0:14000",
    "managementListenAddress": "0.0.0.0:15000",
    "certificate": "test/certs/localhost/cert.pem",
    "privateKey": "test/certs/localhost/key.pem",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
  docker create --name "$name" --network "$network" --network-alias pebble --label stackctl.pebble="$network" \
    -e PEBBLE_VA_NOSLEEP=1 -e PEBBLE_WFE_NONCEREJECT=0 "$image" >/dev/null
  docker cp "$config" "$name:/test/config/pebble-config.json" >/dev/null
  docker start "$name" >/dev/null
  say "started $name ($image) on $network"
fi

docker cp "$name:/test/certs/pebble.minica.pem" "$dir/listener-ca.pem" >/dev/null
address=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$name")
ask() {  # PORT PATH: pebble's answer, trusting its listener CA, with `pebble` resolved to its address
  curl -fsS --max-time 5 --cacert "$dir/listener-ca.pem" --resolve "pebble:$1:$address" "https://pebble:$1$2"
}
for _ in $(seq 1 100); do
  if ask 14000 /dir >/dev/null 2>&1; then break; fi
  sleep 0.1
done
ask 14000 /dir >/dev/null || die "pebble's directory does not answer: docker logs $name"
ask 15000 /roots/0 > "$dir/root.pem.new" || die "pebble's root cannot be read: docker logs $name"
mv "$dir/root.pem.new" "$dir/root.pem"
echo "STACKCTL_ACME_DIRECTORY=https://pebble:14000/dir"
echo "STACKCTL_ACME_CA_FILE=$dir/listener-ca.pem"
echo "STACKCTL_ACME_ROOT_FILE=$dir/root.pem"
