"""deploy and rollback as plans: what they will do, compared as text (what --dry-run prints)."""

from stackctl.deploy.plan import deploy_steps, rollback_steps
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles

R = "20261123T120000Z-abc1234"


def geo(**roles):
    """The shape of examples/geo-nest: backend + worker + frontend behind an nginx proxy."""
    build = {"context": "."}
    config = {"name": "geo", "services": {
        "postgres": {"image": "postgis"}, "cache": {"image": "redis"},
        "migrate": {"image": "geo/backend", "build": build, "depends_on": {"postgres": {}}},
        "backend": {"image": "geo/backend", "build": build, "depends_on": {"migrate": {}, "cache": {}}},
        "worker": {"image": "geo/backend", "depends_on": {"migrate": {}}},
        "frontend": {"image": "geo/frontend", "build": build},
        "proxy": {"image": "geo/proxy", "build": build, "depends_on": {"backend": {}, "frontend": {}},
                  "ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1"}]},
    }}
    declared = {"database": "postgres", "cache": "cache", "migrate": "migrate",
                "apps": {"backend": {"port": 3000, "health": "/health"}, "worker": {}, "frontend": {}},
                "proxy": {"service": "proxy", "upstream": "backend", "switch": "include"}, **roles}
    return parse_model(config, parse_roles(declared, "test"))


def text(steps):
    return [str(s) for s in steps]


def test_first_deploy_starts_everything_once_built():
    assert text(deploy_steps(geo(), R, serving=False, previous=None)) == [
        "check the target",
        f"build backend, frontend, proxy (images tagged {R})",
        "first-start every service (in dependency order, gated on health)",
        "verify every service (each service runs the release's image (by image id) and shows it serves; every endpoint, 5 tries each)",
        f"record {R}",
    ]


def test_normal_deploy_backs_up_migrates_and_rolls_each_app_out_then_the_proxy():
    assert text(deploy_steps(geo(), R, serving=True, previous="20261122T090000Z")) == [
        "check the target",
        "leftovers backend, frontend, worker, proxy (containers an interrupted deploy left beside the serving ones: "
        "removed, or refused with their names)",
        f"build backend, frontend, proxy (images tagged {R})",
        "backup postgres (before migrations)",
        f"migrate migrate (with the images of {R}; on failure 20261122T090000Z still serves)",
        "rollout frontend (beside the serving containers once healthy; a release that never gets healthy "
        "takes no request)",
        "rollout backend (beside the serving containers, then proxy switched to it once healthy; a release that "
        "never gets healthy takes no request)",
        "rollout worker (beside the serving containers once healthy; a release that never gets healthy "
        "takes no request)",
        "replace proxy (if its image or a file it reads changed: its host ports handed from the old container to a "
        "new one (a brief gap, reported); the apps are not touched)",
        "converge cache, postgres (created or recreated where the release changes them, as compose decides, each "
        "gated on its evidence; the others untouched)",
        "verify every service (each service runs the release's image (by image id) and shows it serves; every endpoint, 5 tries each; on failure: back to 20261122T090000Z, verified the same way)",
        f"record {R}",
    ]


def test_a_proxy_without_the_switch_contract_and_a_published_app_are_recreated_and_said_so():
    steps = text(deploy_steps(geo(proxy={"service": "proxy", "upstream": "backend"}), R, True, "r1"))
    assert "recreate backend (the proxy does not meet the switch contract (stackctl.yaml proxy.switch); proxy is " \
           "restarted after it)" in steps
    model = geo()
    spec = model.services["frontend"]
    object.__setattr__(spec, "published", (("127.0.0.1", 5173),))
    assert "recreate frontend (it publishes host port 5173, which one container at a time can hold)" in \
        text(deploy_steps(model, R, True, "r1"))


def test_a_stack_without_database_or_migrations_skips_backup_and_migrate():
    steps = text(deploy_steps(geo(database=None, migrate=None, cache=None), R, True, "r1"))
    assert not [s for s in steps if s.startswith(("backup", "migrate"))]
    assert steps[3].startswith("rollout frontend")


def test_rollback_is_the_same_switch_to_an_older_release():
    steps = text(rollback_steps(geo(), "r1", R))
    assert [s.split(" (")[0] for s in steps] == ["rollout frontend", "rollout backend", "rollout worker",
                                                 "replace proxy", "converge cache, postgres", "record r1",
                                                 "verify every service"]
    assert steps[-2] == f"record r1 (in place of {R})"


def test_a_stack_that_builds_nothing_says_so_and_a_role_less_service_is_converged():
    config = {"name": "p", "services": {"db": {"image": "postgres"}, "api": {"image": "ghcr.io/x/api:1"},
                                        "edge": {"image": "nginx", "depends_on": {"api": {}}}}}
    model = parse_model(config, parse_roles({"database": "db", "apps": {"api": {"port": 8000}}}, "test"))
    steps = text(deploy_steps(model, R, True, "r1"))
    assert steps[2] == f"build nothing (every image is pulled) (images tagged {R})"
    assert any(s.startswith("converge db, edge") for s in steps)


def test_a_release_shipped_through_a_registry_is_pulled_by_digest_and_built_nowhere():
    steps = text(deploy_steps(geo(), R, serving=True, previous="20261122T120000Z-abc1234",
                              pulled="backend, frontend, proxy by digest from ghcr.io/acme"))
    assert steps[2] == ("pull backend, frontend, proxy by digest from ghcr.io/acme (the images the engine lacks; "
                        "nothing is built)")
    assert not [s for s in steps if s.startswith("build")]
    assert steps[1].startswith("leftovers ") and steps[3] == "backup postgres (before migrations)"
