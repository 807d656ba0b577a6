"""The stack file swarm deploys, from a compose model and roles: compared as data, no engine."""

import yaml

from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles
from stackctl.swarm.stackfile import SwarmChoices, content_tag, stack_file, waves

CONFIG = {
    "name": "shop",
    "services": {
        "web": {"image": "shop/web:dev", "build": {"context": "."}, "restart": "unless-stopped",
                "ports": [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "published": "8080",
                           "protocol": "tcp"}],
                "depends_on": {"api": {"condition": "service_healthy"}}},
        "api": {"image": "shop/api:dev", "build": {"context": "."}, "container_name": "shop-api",
                "healthcheck": {"test": ["CMD", "true"], "interval": "5s", "start_interval": "1s"},
                "ports": [{"target": 8000, "published": "3000", "host_ip": "127.0.0.1"}],
                "develop": {"watch": []}, "secrets": [{"source": "db_password"}],
                "stop_grace_period": "30s", "deploy": {"resources": {"limits": {"memory": "512m"}}},
                "depends_on": {"db": {"condition": "service_healthy"},
                               "migrate": {"condition": "service_completed_successfully"}}},
        "migrate": {"image": "shop/api:dev", "command": ["alembic", "upgrade", "head"], "restart": "no",
                    "depends_on": {"db": {"condition": "service_healthy"}}},
        "db": {"image": "postgis/postgis:16-3.4", "environment": {"POSTGRES_PASSWORD": "pw"},
               "ports": [{"target": 5432, "published": "5432", "host_ip": "127.0.0.1"}],
               "volumes": [{"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data", "volume": {}},
                           {"type": "bind", "source": "/srv/init", "target": "/docker-entrypoint-initdb.d",
                            "bind": {"create_host_path": True}}]},
    },
    "volumes": {"pgdata": {"name": "shop_pgdata"}, "unused": {"name": "shop_unused"}},
    "networks": {"default": {"name": "shop_default", "ipam": {}}},
    "secrets": {"db_password": {"name": "shop_db_password", "environment": "POSTGRES_PASSWORD"}},
}
ROLES = parse_roles({"database": "db", "migrate": "migrate", "apps": {"api": {"port": 8000, "health": "/health"}},
                     "proxy": {"service": "web", "upstream": "api", "health": "/health"}}, "test")
CHOICES = SwarmChoices(replicas={"api": 3}, secrets={"db_password": "shop_db_password_0123456789ab"}, run="r1",
                       images={"shop/api:dev": "shop/api:stackctl-aaaaaaaaaaaa"})


def rendered(services=None):
    model = parse_model(CONFIG, ROLES)
    return stack_file(CONFIG, model, services or sorted(model.services), CHOICES, "shop")


def test_waves_follow_depends_on_data_then_migration_then_apps_then_proxy():
    assert waves(parse_model(CONFIG, ROLES)) == [["db"], ["migrate"], ["api"], ["web"]]


def test_apps_get_replicas_start_first_updates_rolled_back_on_failure_and_dns_round_robin():
    api = rendered()[0]["services"]["api"]
    assert api["deploy"] == {"resources": {"limits": {"memory": "512m"}}, "endpoint_mode": "dnsrr", "replicas": 3,
                             "restart_policy": {"condition": "any", "delay": "2s"},
                             "update_config": {"parallelism": 1, "order": "start-first", "failure_action": "rollback",
                                               "monitor": "10s"},
                             "rollback_config": {"parallelism": 1, "order": "start-first"}}
    assert api["image"] == "shop/api:stackctl-aaaaaaaaaaaa"  # the built image, by content
    assert api["healthcheck"] == {"test": ["CMD", "true"], "interval": "5s"}  # start_interval: API >= 1.44
    assert api["stop_grace_period"] == "30s" and api["secrets"] == [{"source": "db_password"}]
    assert not {"build", "develop", "depends_on", "container_name", "ports", "restart"} & set(api)


def test_migration_is_a_job_run_again_on_every_deploy():
    migrate = rendered()[0]["services"]["migrate"]
    assert migrate["deploy"] == {"endpoint_mode": "dnsrr", "mode": "replicated-job",
                                 "restart_policy": {"condition": "none"}, "labels": {"stackctl.run": "r1"}}
    assert migrate["image"] == "shop/api:stackctl-aaaaaaaaaaaa"


def test_database_is_pinned_to_its_node_keeps_its_volume_and_is_not_published():
    document, notes = rendered()
    db = document["services"]["db"]
    assert db["deploy"]["placement"] == {"constraints": ["node.labels.stackctl.shop.data == true"]}
    assert db["deploy"]["update_config"]["order"] == "stop-first"  # one Postgres on its data at a time
    assert "ports" not in db and any(n.startswith("db: port 5432 not published") for n in notes)
    assert db["volumes"] == [{"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data"},
                             {"type": "bind", "source": "/srv/init", "target": "/docker-entrypoint-initdb.d"}]
    assert document["volumes"] == {"pgdata": {"name": "shop_pgdata"}}  # compose's own volume: the same data


def test_proxy_publishes_host_mode_ports_and_updates_stop_first():
    web = rendered()[0]["services"]["web"]
    assert web["ports"] == [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "host"}]
    assert web["deploy"]["update_config"]["order"] == "stop-first"
    assert web["image"] == "shop/web:dev"  # not built here (no pinned tag given)


def test_secrets_are_the_versioned_docker_secrets_and_the_network_an_attachable_overlay():
    document = rendered()[0]
    assert document["secrets"] == {"db_password": {"external": True, "name": "shop_db_password_0123456789ab"}}
    assert document["networks"] == {"default": {"driver": "overlay", "attachable": True}}
    assert "pw" not in yaml.safe_dump({k: v for k, v in document.items() if k != "services"})


def test_a_wave_deploys_only_what_is_up_so_far():
    document = rendered(["db", "migrate"])[0]
    assert sorted(document["services"]) == ["db", "migrate"] and "secrets" not in document


def test_content_tag_keeps_the_repository_and_registry_port():
    assert content_tag("shop/api:dev", "sha256:0123456789abcdef") == "shop/api:stackctl-0123456789ab"
    assert content_tag("reg:5000/shop/api", "sha256:0123456789abcdef") == "reg:5000/shop/api:stackctl-0123456789ab"


def test_a_tmpfs_list_becomes_tmpfs_mounts_which_swarm_applies():
    config = {**CONFIG, "services": {**CONFIG["services"],
                                     "web": {**CONFIG["services"]["web"], "read_only": True,
                                             "tmpfs": ["/tmp", "/var/cache/nginx:size=64m,mode=1777"]}}}
    web = stack_file(config, parse_model(config, ROLES), ["web"], CHOICES, "shop")[0]["services"]["web"]
    assert "tmpfs" not in web and web["read_only"] is True
    assert web["volumes"] == [{"type": "tmpfs", "target": "/tmp"},
                              {"type": "tmpfs", "target": "/var/cache/nginx", "tmpfs": {"size": 64 * 1024 ** 2}}]


def test_with_no_proxy_an_app_is_reached_on_its_own_port_and_replaced_stop_first():
    config = {"name": "shop", "services": {"api": {"build": {"context": "api"}, "ports": [
        {"target": 8000, "published": "8080", "host_ip": "127.0.0.1"}]}}}
    model = parse_model(config, parse_roles({"apps": ["api"]}, "test"))
    shipped = "ghcr.io/acme/api@sha256:" + "1" * 64
    document, notes = stack_file(config, model, ["api"], SwarmChoices(images={"shop-api": shipped}), "shop")
    api = document["services"]["api"]
    assert api["image"] == shipped  # built with no image: of its own: compose's name, then the release's digest
    assert api["ports"] == [{"target": 8000, "published": 8080, "protocol": "tcp", "mode": "host"}]
    assert api["deploy"]["update_config"]["order"] == "stop-first"
    assert "api: port 8080 published in host mode, as the stack has no proxy: one replica per node can hold it" in notes
