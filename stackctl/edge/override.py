"""The compose override that puts stackctl's edge in front of the proxy: written from the roles
outline alone (the proxy's name and the hosts), so every command layers the same file without
reading the compose model first. Host ports and the base image come from STACKCTL_EDGE_* in the
env files, interpolated by compose."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from stackctl.edge import SERVICE

IMAGE_DIR = Path(__file__).resolve().parent / "image"
VOLUME = "stackctl-edge"


def image() -> str:
    """The edge image's name: its recipe's digest, so a new stackctl with a new recipe builds anew."""
    digest = hashlib.sha256()
    for path in sorted(IMAGE_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"stackctl/edge:{digest.hexdigest()[:12]}"


def text(proxy: str, hosts: tuple[str, ...], conf_dir: Path) -> str:
    q = json.dumps
    bind = "${STACKCTL_EDGE_BIND:-0.0.0.0}"
    lines = [
        "# Written by stackctl from stackctl.yaml's edge: (README, \"Production\"). Do not edit: every",
        "# stackctl command writes it again. The proxy's host ports belong to the edge.",
        "services:",
        f"  {q(proxy)}:",
        "    ports: !reset []",
        f"  {SERVICE}:",
        f"    image: {q(image())}",
        "    build:",
        f"      context: {q(str(IMAGE_DIR))}",
        "      args:",
        "        BASE_IMAGE: ${STACKCTL_EDGE_BASE_IMAGE:-debian:bookworm-slim}",
        "    restart: unless-stopped",
        "    depends_on:  # started after the proxy: its evidence is the proxy's health through it",
        f"      {q(proxy)}:",
        "        condition: service_started",
        "    ports:",
        f"      - \"{bind}:${{STACKCTL_EDGE_HTTP_PORT:-80}}:80\"",
        f"      - \"{bind}:${{STACKCTL_EDGE_HTTPS_PORT:-443}}:443\"",
        "    volumes:",
        f"      - {q(str(conf_dir) + ':/etc/stackctl-edge:ro')}",
        f"      - {VOLUME}:/var/lib/stackctl-edge",
        "    networks:",
        "      default:",
        f"        aliases: {q(list(hosts))}",
        "    healthcheck:",
        "      test: [\"CMD\", \"stackctl-edge-admin\", \"show info\"]",
        "      interval: 10s",
        "      timeout: 5s",
        "      retries: 3",
        "    stop_grace_period: 30s",
        "volumes:",
        f"  {VOLUME}: {{}}",
    ]
    return "\n".join(lines) + "\n"


def write(project) -> Path:
    """The override for this project (written only when it differs from what is there)."""
    proxy, *hosts = project.edge
    wanted = text(proxy, tuple(hosts), project.edge_dir.resolve())
    path = project.edge_file
    try:
        if path.read_text() == wanted:
            return path
    except OSError:
        pass
    from stackctl.statefiles import write_private

    write_private(path, wanted)
    return path


def left_running(stack, names: list[str], containers) -> list[str]:
    """`names` without the edge where its container runs the current edge image: compose is not asked
    to converge it, so a change of its hosts (network aliases in the override) never recreates it
    and never frees the host's ports; its configuration and certificates go in by a reload. New
    aliases take effect the next time the edge is created (a new edge image, `down`)."""
    if SERVICE not in names or SERVICE not in containers:
        return names
    info = containers[SERVICE]
    if info.state != "running" or stack.engine.image_id(image()) != info.image_id:
        return names
    return [n for n in names if n != SERVICE]
