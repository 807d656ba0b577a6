"""A stack with no proxy: stackctl's edge forwards to its one app (the app's own port and health
path), and a deploy of a new app image is a switch at the edge: a new container beside the old
one, taken in, the old one drained. No failed request, the same edge container."""

from __future__ import annotations

import json
import subprocess
import time

import httpx

from conftest import ROOT, StackRunner, free_ports, remove_everything
from load import Load, amid
from test_deploy import service_container_ids as containers

COMPOSE = """\
services:
  app:
    build: {context: ., args: {PYTHON_IMAGE: "${PYTHON_IMAGE:-python:3.12-slim}"}}
    image: ${APP_IMAGE}
    ports: ["127.0.0.1:${WEB_PORT}:8000"]
"""

DOCKERFILE = """\
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
COPY public /srv
CMD ["python", "-m", "http.server", "8000", "--directory", "/srv"]
"""

ROLES = """\
apps:
  app: {port: 8000, health: /health}
edge:
  hosts: [shop.test]
  tls: internal
"""


def test_with_no_proxy_the_edge_serves_the_app_and_an_app_deploy_switches_there_without_a_failed_request(tmp_path):
    root = tmp_path / "alone"
    (root / "public").mkdir(parents=True)
    (root / "public" / "index.html").write_text("v1\n")
    (root / "public" / "health").write_text("ok\n")
    (root / "compose.yaml").write_text(COMPOSE)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "stackctl.yaml").write_text(ROLES)
    (root / ".stackctl").mkdir()
    (root / ".stackctl" / "images.env").write_text((ROOT / ".stackctl" / "images.env").read_text())
    (root / ".env.production").write_text("")
    name = f"ea{time.time_ns() % 10**8:08d}"
    http_port, https_port, web_port = free_ports(3)
    s = StackRunner(name, {"COMPOSE_PROJECT_NAME": name, "WEB_PORT": str(web_port), "APP_IMAGE": f"stackctl-it/{name}-app:dev",
                           "STACKCTL_PROJECT_DIR": str(root), "NO_COLOR": "1", "COLUMNS": "200",
                           "STACKCTL_HEALTH_TIMEOUT": "60", "STACKCTL_EDGE_HTTP_PORT": str(http_port),
                           "STACKCTL_EDGE_HTTPS_PORT": str(https_port), "STACKCTL_EDGE_BIND": "127.0.0.1"}, root)
    url = f"https://127.0.0.1:{https_port}/"
    try:
        first = s.run("--env", "production", "deploy", timeout=600)
        assert first.returncode == 0, first.stderr
        assert httpx.get(url, verify=False, timeout=10).text == "v1\n"
        # the app publishes nothing: the host's port is the edge's
        published = subprocess.run(["docker", "port", containers(s, "app")[0]], capture_output=True, text=True).stdout
        assert published.strip() == "", published
        seen = json.loads(s.run("--env", "production", "status", "--json", "--no-stats").stdout)["result"]
        services = {row["name"]: row for row in seen["services"]}
        assert seen["healthy"] is True and services["stackctl-edge"]["evidence"] == "http /health", services
        edge, app = containers(s, "stackctl-edge"), containers(s, "app")

        (root / "public" / "index.html").write_text("v2\n")
        with Load(url, rate=20) as load:
            deployed = amid(lambda: s.run("--env", "production", "deploy", timeout=600))
        assert deployed.returncode == 0, deployed.stderr
        assert load.total >= 40 and load.failures == [], (load.total, load.failures[:5])
        assert httpx.get(url, verify=False, timeout=10).text == "v2\n"
        assert containers(s, "stackctl-edge") == edge and containers(s, "app") != app
        assert len(containers(s, "app")) == 1
        print(f"\napp deploy behind the edge with no proxy: {load.total} requests, 0 failed")
    finally:
        remove_everything(s)
