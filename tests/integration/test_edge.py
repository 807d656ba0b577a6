"""stackctl's edge in production on the real engine: HTTPS from its local CA, HTTP redirected,
the client's address, and deploys of the web image and of the edge's own hosts under a strict
client with zero failed requests (no host port is ever handed over)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import time

from conftest import ROOT, free_ports
from projects import reference_roles
from test_deploy import NEAR, deploy, nothing_failed_nothing_lost, service_container_ids, strict_client
from load import Load, amid

EDGE = """
edge:
  hosts: [shop.test]
  tls: {tls}
  upstream_port: 443   # the reference production nginx serves TLS itself
  upstream_tls: true
"""


PRIVATE = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"  # where docker's networks are: nginx and the edge are there


def with_edge(s, tls: str | None = None) -> None:
    """The reference stack's stackctl.yaml as it ships (its edge: localhost, `tls: internal`), or
    with an edge for shop.test whose certificates come from `tls`; the edge on ports of the test's own."""
    roles = reference_roles(edge=True) if tls is None else reference_roles() + EDGE.format(tls=tls)
    (s.project_dir / "stackctl.yaml").write_text(roles)
    env = s.project_dir / ".env.production"
    env.write_text(env.read_text() + f"TRUSTED_PROXIES={PRIVATE}\nFORWARDED_ALLOW_IPS={PRIVATE}\n")
    http_port, https_port = free_ports(2)
    s.env.update({"STACKCTL_EDGE_HTTP_PORT": str(http_port), "STACKCTL_EDGE_HTTPS_PORT": str(https_port),
                  "STACKCTL_EDGE_BIND": "127.0.0.1", "HTTPS_PORT": str(https_port)})


def trusted(s, alpn: tuple[str, ...] = ("http/1.1",)) -> ssl.SSLContext:
    """Only the edge's local CA (the root `stackctl edge root` names), host names checked."""
    context = ssl.create_default_context(cafile=str(s.project_dir / ".stackctl" / "edge-ca" / "root.pem"))
    context.set_alpn_protocols(list(alpn))
    return context


def get(s, path: str) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPSConnection("localhost", int(s.env["HTTPS_PORT"]), timeout=10, context=trusted(s))
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def handshake(s, host: str) -> str:
    """A TLS handshake with the edge for `host` (SNI), its certificate checked for that name: the
    protocol it chose over ALPN."""
    with socket.create_connection(("127.0.0.1", int(s.env["HTTPS_PORT"])), timeout=5) as raw, \
            trusted(s, ("h2", "http/1.1")).wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        return tls.selected_alpn_protocol()


def test_the_edge_serves_https_from_its_ca_redirects_http_and_deploys_the_web_image_without_a_failed_request(
        prod_stack):
    s = prod_stack
    with_edge(s)
    first = deploy(s)
    assert first.returncode == 0, first.stderr

    # status: the edge's evidence is the proxy's health answered through it, and the proxy's checks go through it
    seen = json.loads(s.run("--env", "production", "status", "--json", "--no-stats").stdout)["result"]
    services = {row["name"]: row for row in seen["services"]}
    assert seen["healthy"] is True and services["stackctl-edge"]["evidence"] == "http /health", seen
    through = {e["name"]: e for e in seen["endpoints"]}
    assert through["stackctl-edge /api/health"]["ok"] is True, through
    assert through["stackctl-edge /api/health"]["url"] == f"https://localhost:{s.env['HTTPS_PORT']}/api/health"
    # curl, trusting the root `stackctl edge root` names and nothing else
    root = json.loads(s.run("--env", "production", "edge", "root", "--json").stdout)["result"]["root"]
    curl = subprocess.run(["curl", "-sS", "--cacert", root, f"https://localhost:{s.env['HTTPS_PORT']}/api/health"],
                          capture_output=True, text=True, timeout=30)
    assert curl.returncode == 0 and json.loads(curl.stdout)["version"] == "1.0.0", curl.stderr
    # HTTPS through the edge, trusted through its CA alone, for localhost; HTTP/2 offered and chosen.
    status, headers, body = get(s, "/api/health")
    assert status == 200 and json.loads(body)["version"] == "1.0.0", body[:200]
    assert headers["strict-transport-security"] == "max-age=63072000"
    assert handshake(s, "localhost") == "h2"
    # HTTP: redirected with the method kept (308), to the edge's HTTPS port
    plain = http.client.HTTPConnection("127.0.0.1", int(s.env["STACKCTL_EDGE_HTTP_PORT"]), timeout=5)
    plain.request("POST", "/api/stops?x=1", body=b"{}", headers={"Host": "localhost"})
    answer = plain.getresponse()
    assert (answer.status, answer.getheader("Location")) == (308, f"https://localhost:{s.env['HTTPS_PORT']}/api/stops?x=1")
    # The client's address reaches the API (here: the bridge's gateway, as docker's port proxy hands
    # loopback clients on); the address a client claims in X-Forwarded-For does not.
    marker = f"whoami-{time.monotonic_ns()}"
    conn = http.client.HTTPSConnection("localhost", int(s.env["HTTPS_PORT"]), timeout=10, context=trusted(s))
    conn.request("GET", f"/api/health?{marker}", headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
    assert conn.getresponse().status == 200
    gateway = subprocess.run(["docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}",
                              f"{s.name}_default"], capture_output=True, text=True, check=True).stdout.strip()
    logged = [line for line in subprocess.run(["docker", "logs", f"{s.name}-api-1"], capture_output=True,
                                              text=True).stdout.splitlines() if marker in line]
    assert len(logged) == 1 and f"{gateway}:" in logged[0] and "203.0.113.9" not in logged[0], (gateway, logged)
    # The proxy publishes nothing of its own: the host's ports are the edge's
    ports = subprocess.run(["docker", "ps", "--filter", f"label=com.docker.compose.project={s.name}", "--format",
                            "{{.Label \"com.docker.compose.service\"}} {{.Ports}}"], capture_output=True, text=True).stdout
    published = {line.split(" ", 1)[0]: line.split(" ", 1)[1] if " " in line else "" for line in ports.splitlines()}
    assert "->" not in published["web"], published
    assert f"127.0.0.1:{s.env['HTTPS_PORT']}->443/tcp" in published["stackctl-edge"], published

    # A changed web image: a new web container beside the old one, switched at the edge.
    page = s.project_dir / "images" / "frontend" / "src" / "index.html"
    page.write_text(page.read_text() + "<!-- behind the edge -->\n")
    web_before, api_before = service_container_ids(s, "web"), service_container_ids(s, "api")
    with Load(NEAR.format(s.https("")), rate=20) as load, strict_client(s) as strict:
        web = amid(lambda: deploy(s))
    assert web.returncode == 0, web.stderr
    nothing_failed_nothing_lost(s, "web-image deploy behind the edge", load, strict, at_least=60)
    assert "<!-- behind the edge -->" in get(s, "/")[2].decode()
    web_after = service_container_ids(s, "web")
    assert len(web_after) == 1 and web_after != web_before
    assert service_container_ids(s, "api") == api_before

    # The edge's hosts changed: new certificate, a reload, and not one failed request.
    yaml_path = s.project_dir / "stackctl.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("hosts: [localhost]", "hosts: [localhost, www.shop.test]"))
    edge_before = service_container_ids(s, "stackctl-edge")
    with Load(NEAR.format(s.https("")), rate=20) as load, strict_client(s) as strict:
        again = amid(lambda: deploy(s))
    assert again.returncode == 0, again.stderr
    assert "reloaded without closing a connection" in again.stderr, again.stderr
    nothing_failed_nothing_lost(s, "edge hosts change", load, strict, at_least=30)
    assert service_container_ids(s, "stackctl-edge") == edge_before
    assert handshake(s, "www.shop.test") == "h2"  # the new certificate names the new host
    assert get(s, "/api/health")[0] == 200


def test_acme_from_pebble_chains_to_its_root_and_a_forced_renewal_under_load_fails_nothing(prod_stack, tmp_path):
    s = prod_stack
    with_edge(s, tls="acme")
    s.env.update({"STACKCTL_ACME_EMAIL": "ops@shop.test", "STACKCTL_ACME_DIRECTORY": "https://pebble:14000/dir"})
    first = deploy(s)  # no ACME server yet: the edge serves a stand-in certificate, and says so in its log
    assert first.returncode == 0, first.stderr
    network = f"{s.name}_default"
    pebble = subprocess.run(["bash", str(ROOT / "scripts" / "pebble.sh"), network], capture_output=True, text=True,
                            env={**os.environ, "STACKCTL_PEBBLE_DIR": str(tmp_path / "pebble")}, timeout=120)
    assert pebble.returncode == 0, pebble.stderr
    try:
        said = dict(line.split("=", 1) for line in pebble.stdout.split())
        s.env["STACKCTL_ACME_CA_FILE"] = said["STACKCTL_ACME_CA_FILE"]
        got = s.run("--env", "production", "edge", "renew", "--json")
        assert got.returncode == 0, got.stderr
        result = json.loads(got.stdout)["result"]
        # the edge's own loop may have asked first (it retries every 30 s): either way pebble's certificate is served
        assert result["served"][0]["names"] == ["shop.test"] and "Pebble" in result["served"][0]["issuer"], result
        chained = ssl.create_default_context(cafile=said["STACKCTL_ACME_ROOT_FILE"])  # pebble's issuing root only
        with socket.create_connection(("127.0.0.1", int(s.env["HTTPS_PORT"])), timeout=5) as raw, \
                chained.wrap_socket(raw, server_hostname="shop.test") as tls:
            first_served = tls.getpeercert(binary_form=True)
        status = s.status()
        assert status["healthy"] is True, status

        # A forced renewal under load: a new certificate served, not one request failed.
        with Load(NEAR.format(s.https("")), rate=20) as load, strict_client(s) as strict:
            renewed = amid(lambda: s.run("--env", "production", "edge", "renew", "--force", "--json"))
        assert renewed.returncode == 0, renewed.stderr
        again = json.loads(renewed.stdout)["result"]
        assert again["renewed"] is True and again["served"][0]["sha256"] != result["served"][0]["sha256"], again
        nothing_failed_nothing_lost(s, "ACME renewal", load, strict, at_least=30)
        with socket.create_connection(("127.0.0.1", int(s.env["HTTPS_PORT"])), timeout=5) as raw, \
                chained.wrap_socket(raw, server_hostname="shop.test") as tls:
            assert tls.getpeercert(binary_form=True) != first_served
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "pebble.sh"), "--stop", network], capture_output=True)
