"""stackctl's edge as data: its HAProxy configuration and compose override compared as text, the
roles that declare it, and the deploy step that switches the proxy behind it."""

from __future__ import annotations

import pytest

from stackctl.deploy.plan import deploy_steps
from stackctl.edge import SERVICE, haproxy, override
from stackctl.errors import ConfigError
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles


def config(**changes) -> haproxy.EdgeConfig:
    base = dict(hosts=("shop.example.com", "www.shop.example.com"), tls="internal", upstream="web", upstream_port=80,
                upstream_tls=False, health="/health", https_port=443)
    return haproxy.EdgeConfig(**{**base, **changes})


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_http_answers_acme_and_redirects_the_rest_with_308_keeping_the_https_port():
    assert ("http-request redirect location https://%[req.hdr(host),field(1,:)]%[capture.req.uri] code 308 unless acme"
            in lines(haproxy.render(config())))
    assert ("http-request redirect location https://%[req.hdr(host),field(1,:)]:8443%[capture.req.uri] code 308 "
            "unless acme" in lines(haproxy.render(config(https_port=8443))))
    found = lines(haproxy.render(config()))
    assert "acl acme path_beg /.well-known/acme-challenge/" in found
    assert f"server lego 127.0.0.1:{haproxy.ACME_PORT}" in found


def test_https_terminates_tls_with_h2_sets_the_client_address_and_hsts():
    found = lines(haproxy.render(config()))
    assert "bind :443 ssl crt /etc/stackctl-edge/certs/ alpn h2,http/1.1" in found
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):  # what a client sent is never passed on
        assert f"http-request del-header {header}" in found
    assert found.index("http-request del-header X-Forwarded-For") < found.index("option forwardfor")
    assert 'http-response set-header Strict-Transport-Security "max-age=63072000"' in found
    assert "ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets" in found


def test_the_proxy_is_found_by_its_service_name_and_checked_on_its_health_path():
    found = lines(haproxy.render(config()))
    assert "server-template web 1-4 web:80 check" in found
    assert "option httpchk GET /health" in found and "http-check expect status 200" in found
    assert "default-server inter 2s fastinter 1s fall 3 rise 1 init-addr last,none resolvers docker" in found
    assert "timeout check 5s" in found
    assert "option idle-close-on-response" in found and "option redispatch" in found
    assert "load-server-state-from-file global" in found


def test_a_proxy_serving_tls_is_reached_over_tls_and_acme_certificates_come_from_the_edges_volume():
    found = lines(haproxy.render(config(upstream_port=443, upstream_tls=True, tls="acme")))
    assert "server-template web 1-4 web:443 check ssl verify none alpn http/1.1 check-ssl" in found
    assert "bind :443 ssl crt /var/lib/stackctl-edge/certs/ alpn h2,http/1.1" in found


def test_a_proxy_without_a_health_path_counts_any_answer_below_400():
    found = lines(haproxy.render(config(health="")))
    assert "option httpchk GET /" in found and "http-check expect status 200-399" in found


def test_the_override_takes_the_proxys_ports_and_gives_the_edge_its_hosts_as_aliases(tmp_path):
    text = override.text("web", ("shop.example.com",), tmp_path / "edge-production")
    assert '  "web":\n    ports: !reset []\n' in text
    assert f"  {SERVICE}:\n    image: \"stackctl/edge:" in text
    assert '"${STACKCTL_EDGE_BIND:-0.0.0.0}:${STACKCTL_EDGE_HTTP_PORT:-80}:80"' in text
    assert '"${STACKCTL_EDGE_BIND:-0.0.0.0}:${STACKCTL_EDGE_HTTPS_PORT:-443}:443"' in text
    assert f'"{tmp_path / "edge-production"}:/etc/stackctl-edge:ro"' in text
    assert 'aliases: ["shop.example.com"]' in text
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!reset", lambda loader, node: None)
    assert set(yaml.load(text, Loader)["services"]) == {"web", SERVICE}


def test_the_edge_image_is_named_by_its_recipe():
    assert override.image() == override.image()
    assert override.image().startswith("stackctl/edge:") and len(override.image().split(":")[1]) == 12


ROLES = {"apps": {"api": {"port": 8000, "health": "/health"}},
         "proxy": {"service": "web", "upstream": "api", "health": "/health", "switch": "include"}}


def test_edge_forwards_to_the_proxy_else_to_the_one_app_and_needs_host_names():
    two_apps = {"apps": {"api": {"port": 8000}, "admin": {"port": 9000}}, "edge": {"hosts": ["a.example.com"]}}
    with pytest.raises(ConfigError, match="no proxy and 2 apps"):
        parse_roles(two_apps, "stackctl.yaml").check_against({"api": {}, "admin": {}}, "stackctl.yaml")
    with pytest.raises(ConfigError, match="no proxy and 0 apps"):  # was a StopIteration
        parse_roles({"edge": {"hosts": ["a.example.com"]}}, "stackctl.yaml").edge_upstream()
    alone = parse_roles({"apps": {"api": {"port": 8000, "health": "/healthz"}}, "edge": {"hosts": ["a.example.com"]}},
                        "stackctl.yaml")
    alone.check_against({"api": {}}, "stackctl.yaml")
    assert alone.edge_upstream() == ("api", 8000, "/healthz", ())  # the app's own port and health
    alone = parse_roles({"apps": {"api": {"port": 8000}}, "edge": {"hosts": ["a.example.com"], "upstream_port": 8443}},
                        "stackctl.yaml")
    assert alone.edge_upstream() == ("api", 8443, "", ())  # a port given wins
    behind = parse_roles({**ROLES, "edge": {"hosts": ["a.example.com"]}}, "stackctl.yaml")
    assert behind.edge_upstream() == ("web", 80, "/health", ())
    for bad in ([], ["Shop.Example.com"], ["a b"], ["-x.example.com"], ["x" * 64 + ".com"]):
        with pytest.raises(ConfigError, match="edge.hosts"):
            parse_roles({**ROLES, "edge": {"hosts": bad}}, "stackctl.yaml")
    with pytest.raises(ConfigError, match="edge.tls"):
        parse_roles({**ROLES, "edge": {"hosts": ["a.example.com"], "tls": "letsencrypt"}}, "stackctl.yaml")
    edge = parse_roles({**ROLES, "edge": {"hosts": ["a.example.com"]}}, "stackctl.yaml").edge
    assert (edge.tls, edge.upstream_port, edge.upstream_tls) == ("internal", 80, False)


def test_a_deploy_behind_the_edge_switches_the_proxy_there_and_never_rebuilds_or_pins_the_edge():
    build = {"context": "."}
    compose = {"name": "shop", "services": {
        "api": {"image": "shop/api", "build": build},
        "web": {"image": "shop/web", "build": build, "depends_on": {"api": {}}},
        SERVICE: {"image": override.image(), "build": {"context": str(override.IMAGE_DIR)},
                  "ports": [{"target": 443, "published": "443"}]}}}
    model = parse_model(compose, parse_roles({**ROLES, "edge": {"hosts": ["shop.example.com"]}}, "stackctl.yaml"))
    assert model.services[SERVICE].role == "edge" and not model.services[SERVICE].build
    steps = [str(s) for s in deploy_steps(model, "r2", serving=True, previous="r1")]
    assert "build api, web (images tagged r2)" in steps
    assert ("switch web (if its image or configuration changed: a new container beside the old one, taken in by the "
            "edge, the old one drained there (no port handed over))") in steps
    assert not any(s.startswith("replace") for s in steps)
    assert any(s.startswith(f"converge {SERVICE}") for s in steps)


def test_a_deploy_with_the_edge_and_no_proxy_switches_the_app_there():
    compose = {"name": "shop", "services": {
        "api": {"image": "shop/api", "build": {"context": "."}},
        SERVICE: {"image": override.image(), "ports": [{"target": 443, "published": "443"}]}}}
    roles = parse_roles({"apps": {"api": {"port": 8000, "health": "/health"}}, "edge": {"hosts": ["shop.example.com"]}},
                        "stackctl.yaml")
    model = parse_model(compose, roles)
    assert model.services[SERVICE].probe == "https:/health"
    steps = [str(s) for s in deploy_steps(model, "r2", serving=True, previous="r1")]
    assert ("switch api (if its image or configuration changed: a new container beside the old one, taken in by the "
            "edge, the old one drained there (no port handed over))") in steps
    assert not any(s.startswith(("rollout", "replace", "recreate")) for s in steps)


def test_init_proposes_the_edge_for_a_stack_with_a_proxy_and_writes_one_back_as_declared():
    from stackctl.roles import render

    proposed = render(parse_roles(ROLES, "stackctl.yaml"))
    assert "# edge:\n#   hosts: [example.com]\n#   tls: acme" in proposed
    import yaml

    assert "edge" not in yaml.safe_load(proposed)  # a proposal: nothing changes until it is uncommented
    declared = parse_roles({**ROLES, "edge": {"hosts": ["shop.example.com"], "tls": "acme", "upstream_port": 443,
                                              "upstream_tls": True}}, "stackctl.yaml")
    again = parse_roles(yaml.safe_load(render(declared)), "stackctl.yaml")
    assert again.edge == declared.edge
    assert "# edge:" not in render(declared)
    # no proxy: the one app, on its own port; two apps and no proxy: nothing to put it in front of
    alone = render(parse_roles({"apps": {"api": {"port": 8000}}}, "stackctl.yaml"))
    assert "in front of api (there is no proxy)" in alone and "#   upstream_port: 8000" in alone
    assert parse_roles(yaml.safe_load(alone.replace("# edge:", "edge:").replace("#   ", "  ")), "x").edge_upstream() \
        == ("api", 8000, "", ())
    assert "edge" not in render(parse_roles({"apps": ["api", "worker"]}, "stackctl.yaml"))


@pytest.mark.parametrize("edge_image, said", [("sha256:new", False), ("sha256:old", True)])
def test_a_running_edge_of_an_older_image_is_said_to_leave_a_gap_before_compose_replaces_it(
        tmp_path, monkeypatch, edge_image, said):
    from stackctl.containers import ContainerInfo
    from stackctl.edge import prepare as prepare_mod
    from tests.unit.fakes import FakeEngine, fake_stack

    edge = ContainerInfo("e-1", "shop-stackctl-edge-1", SERVICE, "shop", "running", image_id=edge_image)
    engine = FakeEngine([edge])
    engine.images[override.image()] = "sha256:new"
    services = {"web": {"image": "shop/web"}}
    stack = fake_stack(tmp_path, parse_model({"name": "shop", "services": services}, parse_roles(
        {"proxy": {"service": "web"}, "edge": {"hosts": ["shop.test"], "tls": "internal"}}, "test")), engine)
    monkeypatch.setattr(prepare_mod, "write", lambda folder, files: [])
    monkeypatch.setattr(prepare_mod, "files", lambda s: {})
    notes = []

    class Report:
        def note(self, text):
            notes.append(text)

    prepare_mod.prepare(stack, Report())
    gap = [n for n in notes if "its image changed" in n and "answer nothing until the new one is up" in n]
    assert (len(gap), len(notes)) == ((1, 1) if said else (0, 0)), notes
