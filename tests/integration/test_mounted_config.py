"""A proxy whose configuration is a file mounted read-only (nginx.conf beside the compose file,
the shape most teams start with): compose does not see an edit of it, so before stackctl looked,
`up` kept the old container and `deploy` said "deployed" with the old configuration serving.
Now both put in a container that reads the new file, say which file, and leave it alone when
nothing changed."""

from __future__ import annotations

import time

import httpx

from conftest import ROOT, StackRunner, free_ports, remove_everything
from test_deploy import service_container_ids

COMPOSE = """\
services:
  app:
    image: ${PYTHON_IMAGE:-python:3.12-slim}
    command: ["python", "-m", "http.server", "8000", "--directory", "/srv"]
    volumes: ["./public:/srv:ro"]
  proxy:
    image: ${NGINX_IMAGE:-nginx:1.27}
    ports: ["127.0.0.1:${WEB_PORT}:80"]
    volumes: ["./site.conf:/etc/nginx/conf.d/default.conf:ro"]
    depends_on: [app]
"""

SITE = """\
server {{
    listen 80;
    location = /which {{ default_type text/plain; return 200 "{version}"; }}
    location / {{ proxy_pass http://app:8000; }}
}}
"""


def project(tmp_path) -> StackRunner:
    root = tmp_path / "mounted"
    (root / "public").mkdir(parents=True)
    (root / "public" / "index.html").write_text("hello from the app\n")
    (root / "compose.yaml").write_text(COMPOSE)
    (root / "site.conf").write_text(SITE.format(version="v1"))
    (root / ".stackctl").mkdir()
    (root / ".stackctl" / "images.env").write_text((ROOT / ".stackctl" / "images.env").read_text())
    (root / ".env.staging").write_text("")
    name = f"mc{time.time_ns() % 10**8:08d}"
    return StackRunner(name, {"COMPOSE_PROJECT_NAME": name, "WEB_PORT": str(free_ports(1)[0]),
                              "STACKCTL_PROJECT_DIR": str(root), "NO_COLOR": "1", "COLUMNS": "200",
                              "STACKCTL_HEALTH_TIMEOUT": "60"}, root)


def which(s: StackRunner) -> str:
    return httpx.get(f"http://127.0.0.1:{s.env['WEB_PORT']}/which", timeout=10).text


def test_an_edited_mounted_proxy_config_is_put_in_by_up_and_by_deploy_and_nothing_else_is(tmp_path):
    s = project(tmp_path)
    try:
        assert s.run("init", "--yes").returncode == 0
        up = s.run("up")
        assert up.returncode == 0, up.stderr
        assert which(s) == "v1"
        first, app = service_container_ids(s, "proxy"), service_container_ids(s, "app")

        again = s.run("up")  # nothing edited: nothing recreated
        assert again.returncode == 0, again.stderr
        assert service_container_ids(s, "proxy") == first and "changed after its container started" not in again.stderr

        (s.project_dir / "site.conf").write_text(SITE.format(version="v2"))
        edited = s.run("up")
        assert edited.returncode == 0, edited.stderr
        assert "proxy: site.conf changed after its container started: a new container reads it" in edited.stderr
        assert which(s) == "v2" and service_container_ids(s, "proxy") != first
        assert service_container_ids(s, "app") == app  # its folder did not change: kept
        assert "hello from the app" in httpx.get(f"http://127.0.0.1:{s.env['WEB_PORT']}/", timeout=10).text
        s.run("down", "--yes")

        # deploy: a pulled proxy, its image unchanged, its file edited: replaced, and said why
        first_deploy = s.run("--env", "staging", "deploy", timeout=600)
        assert first_deploy.returncode == 0, first_deploy.stderr
        assert which(s) == "v2"
        serving = service_container_ids(s, "proxy")
        kept = s.run("--env", "staging", "deploy", timeout=600)
        assert kept.returncode == 0, kept.stderr
        assert "proxy: image and configuration unchanged, kept" in kept.stderr and service_container_ids(s, "proxy") == serving
        (s.project_dir / "site.conf").write_text(SITE.format(version="v3"))
        deployed = s.run("--env", "staging", "deploy", timeout=600)
        assert deployed.returncode == 0, deployed.stderr
        assert "proxy: site.conf changed after its container started: a new container reads it" in deployed.stderr
        assert which(s) == "v3" and service_container_ids(s, "proxy") != serving
    finally:
        remove_everything(s)


EDGE = """
edge:
  hosts: [shop.test]
  tls: internal
  upstream_port: 80
"""


def deployed_behind_edge(s: StackRunner, edge: str, **env: str) -> int:
    """The project in production behind stackctl's edge (init, the `edge` block, a first deploy,
    the edge on loopback ports of its own): the edge's HTTPS port."""
    http_port, https_port = free_ports(2)
    s.env.update({"STACKCTL_EDGE_HTTP_PORT": str(http_port), "STACKCTL_EDGE_HTTPS_PORT": str(https_port),
                  "STACKCTL_EDGE_BIND": "127.0.0.1", **env})
    (s.project_dir / ".env.production").write_text("")
    assert s.run("init", "--yes").returncode == 0
    (s.project_dir / "stackctl.yaml").write_text((s.project_dir / "stackctl.yaml").read_text() + edge)
    first = s.run("--env", "production", "deploy", timeout=600)
    assert first.returncode == 0, first.stderr
    return https_port


def test_behind_the_edge_an_edited_mounted_proxy_config_is_switched_in_without_a_failed_request(tmp_path):
    from load import Load, amid

    s = project(tmp_path)
    try:
        https_port = deployed_behind_edge(s, EDGE)
        url = f"https://127.0.0.1:{https_port}/which"
        assert httpx.get(url, verify=False, timeout=10).text == "v1"
        serving = service_container_ids(s, "proxy")
        (s.project_dir / "site.conf").write_text(SITE.format(version="v2"))
        with Load(url, rate=20) as load:
            deployed = amid(lambda: s.run("--env", "production", "deploy", timeout=600))
        assert deployed.returncode == 0, deployed.stderr
        assert "proxy: site.conf changed after its container started: a new container reads it" in deployed.stderr
        assert load.total >= 40 and load.failures == [], (load.total, load.failures[:5])
        answers = {r[2] for r in load.results}
        assert answers == {"HTTP 200"}, answers
        assert httpx.get(url, verify=False, timeout=10).text == "v2" and service_container_ids(s, "proxy") != serving
        print(f"\nmounted proxy config behind the edge: {load.total} requests, 0 failed")
    finally:
        remove_everything(s)
