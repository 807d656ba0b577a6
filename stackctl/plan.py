"""The stack as data: services, their dependencies, and what `up` will do, in order.

Pure functions over the `docker compose config` model; tested by comparing text forms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stackctl.errors import ConfigError
from stackctl.steps import Step



@dataclass(frozen=True)
class ServiceSpec:
    name: str
    depends_on: tuple[tuple[str, str], ...] = ()  # (service, condition)
    image: str = ""
    build: bool = False
    probe: str | None = None  # postgres | redis | http:/path (from the service's role)
    checks: tuple[str, ...] = ()
    oneshot: bool = False
    has_healthcheck: bool = False
    injects_files: bool = False  # compose secrets/configs: only `compose start` puts them in
    role: str = ""  # database | cache | migrate | app | proxy | edge | "" (anything else)
    port: int | None = None  # the container port an app or proxy serves HTTP on
    published: tuple[tuple[str, int], ...] = ()  # (host ip, host port) compose publishes
    exposes: tuple[int, ...] = ()  # container ports compose names (expose:, ports: targets): it serves there
    build_context: str = ""
    dockerfile: str = "Dockerfile"
    build_args_hash: str = ""
    # Where the files compose copies in at start come from (secrets, configs): "env:VAR" or
    # "file:/abs/path"; a change there needs a new container (stackctl.injected)
    file_sources: tuple[str, ...] = ()

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(dep for dep, _ in self.depends_on)


@dataclass(frozen=True)
class StackModel:
    services: dict[str, ServiceSpec]
    name: str = ""  # the compose project name
    upstream: str | None = None  # the app the proxy forwards to
    switch: str = "recreate"  # how the proxy moves to a new release: include | recreate
    migrate_status: str | None = None  # the command that lists migrations

    def names(self) -> list[str]:
        return sorted(self.services)

    def dependents(self, name: str) -> list[str]:
        return sorted(s.name for s in self.services.values() if name in s.needs)

    def with_role(self, role: str) -> list[str]:
        return sorted(n for n, s in self.services.items() if s.role == role)

    def built_images(self) -> list[str]:
        """The images stackctl builds (services sharing one build it once)."""
        return sorted({spec.image for spec in self.services.values() if spec.build})

    def one(self, role: str) -> str | None:
        found = self.with_role(role)
        return found[0] if found else None


def model_to_json(model: StackModel) -> dict:
    return {"name": model.name, "upstream": model.upstream, "switch": model.switch,
            "migrate_status": model.migrate_status,
            "services": {name: {**asdict(spec), "depends_on": [list(d) for d in spec.depends_on],
                                "checks": list(spec.checks), "published": [list(p) for p in spec.published]}
                         for name, spec in model.services.items()}}


def model_from_json(data: dict) -> StackModel:
    services = {name: ServiceSpec(**{**raw, "depends_on": tuple(tuple(d) for d in raw["depends_on"]),
                                     "checks": tuple(raw["checks"]),
                                     "file_sources": tuple(raw.get("file_sources") or ()),
                                     "exposes": tuple(raw.get("exposes") or ()),
                                     "published": tuple(tuple(p) for p in raw["published"])})
                for name, raw in data["services"].items()}
    return StackModel(services, data["name"], data["upstream"], data["switch"], data["migrate_status"])


def _file_sources(config: dict, raw: dict) -> tuple[str, ...]:
    found = []
    for kind in ("secrets", "configs"):
        for ref in raw.get(kind) or []:
            name = ref.get("source") if isinstance(ref, dict) else ref
            top = (config.get(kind) or {}).get(name) or {}
            if top.get("environment"):
                found.append(f"env:{top['environment']}")
            elif top.get("file"):
                found.append(f"file:{top['file']}")
            elif top.get("content") is not None:
                found.append(f"content:{_digest({'c': top['content']})}")
    return tuple(sorted(set(found)))


def _published(raw: dict) -> tuple[tuple[str, int], ...]:
    found = []
    for port in raw.get("ports") or []:
        if isinstance(port, dict) and str(port.get("published") or "").isdigit():
            found.append((port.get("host_ip") or "", int(port["published"])))
    return tuple(found)


def _exposes(raw: dict) -> tuple[int, ...]:
    found = set()
    for item in raw.get("expose") or []:
        head = str(item).split("/")[0].split("-")[0]
        if head.isdigit():
            found.add(int(head))
    for port in raw.get("ports") or []:
        if isinstance(port, dict) and str(port.get("target") or "").isdigit() and port.get("protocol", "tcp") == "tcp":
            found.add(int(port["target"]))
    return tuple(sorted(found))


def _digest(value) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def parse_model(config: dict, roles) -> StackModel:
    """From `docker compose config --format json` output and the roles (stackctl.roles.Roles)."""
    named = roles.named()
    services = {}
    for name, raw in (config.get("services") or {}).items():
        deps = raw.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        healthcheck = raw.get("healthcheck") or {}
        role = named.get(name, "")
        build = raw.get("build") or {}
        probe, port, checks = (roles.kind(role) if role in ("database", "cache") else None), None, ()
        if role == "app":
            app = roles.apps[name]
            # a health path answers 200; an app that declares only its port must answer at all
            probe, port = (f"http:{app.health}" if app.health else "http:" if app.port else None), app.port
        elif role == "proxy":
            # with no health path, any answer below 500 on / shows it serves (a 502 does not)
            probe, checks = f"http:{roles.proxy.health or ''}", roles.proxy.checks
        elif role == "edge":  # stackctl's edge: its upstream's health and checks, over HTTPS through it
            _, _, health, checks = roles.edge_upstream()
            probe = f"https:{health}"
        services[name] = ServiceSpec(
            name=name,
            depends_on=tuple(sorted((d, (c or {}).get("condition", "service_started")) for d, c in deps.items())),
            image=raw.get("image") or (f"{config.get('name', '')}-{name}" if raw.get("build") else ""),
            build=bool(raw.get("build")) and role != "edge",  # stackctl's edge: its own image, never a release's
            probe=probe,
            checks=tuple(checks),
            oneshot=role == "migrate",
            has_healthcheck=bool(healthcheck) and not healthcheck.get("disable", False),
            injects_files=bool(raw.get("secrets") or raw.get("configs")),
            role=role,
            port=port,
            published=_published(raw),
            exposes=_exposes(raw),
            build_context=str(build.get("context", "")) if build else "",
            dockerfile=str(build.get("dockerfile", "Dockerfile")) if build else "Dockerfile",
            build_args_hash=_digest(build.get("args") or {}) if build else "",
            file_sources=_file_sources(config, raw),
        )
    for spec in services.values():
        for dep in spec.needs:
            if dep not in services:
                raise ConfigError(f"service '{spec.name}' depends on unknown service '{dep}'",
                                  "fix depends_on in the compose file")
    proxy = roles.proxy
    return StackModel(services, config.get("name", ""), proxy.upstream if proxy else None,
                      proxy.switch if proxy else "recreate", roles.migrate.status_command if roles.migrate else None)


def levels(model: StackModel) -> dict[str, int]:
    """Longest dependency path from a root: db/redis 0, migrate 1, api 2, web 3."""
    memo: dict[str, int] = {}

    def level(name: str, trail: tuple[str, ...]) -> int:
        if name in trail:
            cycle = " -> ".join((*trail[trail.index(name):], name))
            raise ConfigError(f"dependency cycle: {cycle}", "break the cycle in depends_on")
        if name not in memo:
            needs = model.services[name].needs
            memo[name] = 1 + max((level(d, (*trail, name)) for d in needs), default=-1)
        return memo[name]

    for name in model.services:
        level(name, ())
    return memo


def check_known(model: StackModel, names: list[str]) -> list[str]:
    """The names, or a one-line error naming the unknown ones and listing the valid ones."""
    unknown = [n for n in names if n not in model.services]
    if unknown:
        raise ConfigError(f"unknown service {', '.join(repr(u) for u in unknown)}",
                          f"valid services: {', '.join(model.names())}")
    return names


def closure(model: StackModel, targets: list[str] | None) -> list[str]:
    """The targets and everything they depend on, in start order."""
    check_known(model, targets or [])
    wanted: set[str] = set()
    stack = list(targets or model.services)
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(model.services[name].needs)
    return start_order(model, wanted)


def start_order(model: StackModel, names) -> list[str]:
    lv = levels(model)
    return sorted(names, key=lambda n: (lv[n], n))


def after_oneshots(model: StackModel, targets: list[str]) -> list[str]:
    """Targets that (transitively) wait for a one-shot: the API behind its migrations.

    `up` converges these only once the one-shots succeeded, so a failed migration leaves
    the running API as it was."""
    memo: dict[str, bool] = {}

    def waits(name: str) -> bool:
        if name not in memo:
            memo[name] = any(model.services[d].oneshot or waits(d) for d in model.services[name].needs)
        return memo[name]

    return [n for n in targets if waits(n)]


def up_steps(model: StackModel, targets: list[str], observed: dict[str, str], run_oneshots: bool = True) -> list[Step]:
    """What `up` does to each service, given what it observed of each:

    observed[name] is a ServiceState (stackctl.service_state): "ready" (running and answering
    its probe), "done" (a one-shot that exited 0 and was not recreated since), or anything else
    (absent, created, stopped, unhealthy...).
    A one-shot runs again when any service that depends on it has to start (unless
    run_oneshots is False: a rollback starts the previous release on the data it had).
    """
    steps: dict[str, Step] = {}
    for name in reversed(start_order(model, targets)):  # dependents first, to know who starts
        spec = model.services[name]
        after = tuple(d for d in spec.needs if d in targets)
        state = observed.get(name, "absent")
        starting_dependents = [d for d in model.dependents(name) if d in steps and steps[d].action != "keep"]
        if spec.oneshot:
            if not run_oneshots:
                steps[name] = Step("keep", name, "not run", after=after)
            elif state == "done" and not starting_dependents:
                steps[name] = Step("keep", name, "done", after=after)
            else:
                why = "" if state != "done" else f"before {', '.join(starting_dependents)}"
                steps[name] = Step("run", name, why, after=after)
        elif state == "ready":
            steps[name] = Step("keep", name, "ready", after=after)
        else:
            steps[name] = Step("start", name, str(state), after=after)
    return [steps[n] for n in start_order(model, targets)]
