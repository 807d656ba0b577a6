"""The roles contract: which of the user's compose services is what, in `stackctl.yaml`.

    database: postgres          # Postgres/PostGIS: probes, backups, restores
    cache: cache                # Redis (optional; password optional)
    migrate: migrate            # one-shot run to completion before the apps (optional)
    apps:                       # roll out with zero downtime on deploy (any number)
      backend: {port: 3000, health: /health}
      worker: {}
    proxy:                      # optional
      service: proxy
      upstream: backend         # the app it forwards to
      health: /health
      checks: [/api/health]     # more paths checked through it after up/deploy
      switch: include           # include (see stackctl/snippets) | recreate

Validated by pydantic once, with one-line errors. No module of stackctl names a service:
everything service-specific comes from here (or from `detect`, when there is no file).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from stackctl.errors import ConfigError

SERVICE = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
ServiceName = Annotated[str, Field(pattern=SERVICE, max_length=63)]


def _http_path(value: str) -> str:
    """A path stackctl requests over HTTP: `/` first, then only what a URL path may hold (no
    space, no control character: a CR/LF would write a header of its own)."""
    if not re.fullmatch(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]{0,2047}", value):
        raise ValueError("must be a URL path: / first, no space or control character, at most 2048 characters")
    return value


HttpPath = Annotated[str, AfterValidator(_http_path)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class App(_Strict):
    port: StrictInt | None = Field(None, ge=1, le=65535)  # the container port it serves HTTP on
    health: HttpPath | None = None  # an HTTP path answering 200 when healthy


class Migrate(_Strict):
    service: ServiceName
    status_command: str | None = None  # lists applied and pending migrations (migrate --status)


class Proxy(_Strict):
    service: ServiceName
    upstream: ServiceName | None = None
    health: HttpPath | None = None
    checks: tuple[HttpPath, ...] = ()
    switch: Literal["include", "recreate"] = "recreate"


class Data(_Strict):
    """A data service and its kind (stackctl.kinds): `database: db` is `{service: db, kind: postgres}`."""

    service: ServiceName
    kind: str | None = None  # None: the role's usual kind (postgres, redis)

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        from stackctl import kinds

        if value is not None and value not in kinds.KNOWN:
            raise ValueError(f"is not a kind stackctl knows ({', '.join(kinds.KNOWN)})")
        return value


class Production(_Strict):
    file: str = Field(min_length=1)  # relative to the project
    standalone: bool = False  # a complete model used alone (True), or an overlay layered on the files


HOST = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"


class Edge(_Strict):
    """stackctl's edge in front of the proxy in production (stackctl.edge), or of the one app of a
    stack without a proxy: the names it serves, where its certificates come from, and how it
    reaches what it forwards to."""

    hosts: tuple[Annotated[str, Field(pattern=HOST, max_length=253)], ...] = Field(min_length=1)
    tls: Literal["acme", "internal", "files"] = "internal"
    upstream_port: StrictInt = Field(80, ge=1, le=65535)  # the proxy's container port the edge sends to
    upstream_tls: bool = False  # the proxy serves TLS on that port (its certificate is not checked)


class Roles(_Strict):
    database: Data | None = None
    cache: Data | None = None
    migrate: Migrate | None = None
    apps: dict[ServiceName, App] = Field(default_factory=dict)
    proxy: Proxy | None = None
    production: Production | None = None  # the production file (a bare path: an overlay)
    # Which safety rules an environment gets (stackctl.project.RULES), by its --env name:
    # `staging: production` gives staging production's overlay, TLS and exposure checks.
    environments: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")],
                       Literal["production", "checked", "development"]] = Field(default_factory=dict)
    # Where release images are pushed and pulled from (stackctl.registry); STACKCTL_REGISTRY wins.
    registry: str | None = None
    edge: Edge | None = None  # stackctl's edge in production environments (stackctl.edge)

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        from stackctl.registry import parse_address

        return parse_address(value) if value else None

    @field_validator("migrate", mode="before", json_schema_input_type=Migrate | ServiceName | None)
    @classmethod
    def _migrate(cls, value):
        return {"service": value} if isinstance(value, str) else value

    @field_validator("database", "cache", mode="before", json_schema_input_type=Data | ServiceName | None)
    @classmethod
    def _data(cls, value):
        return {"service": value} if isinstance(value, str) else value

    @field_validator("production", mode="before", json_schema_input_type=Production | str | None)
    @classmethod
    def _production(cls, value):
        return {"file": value} if isinstance(value, str) else value

    @field_validator("proxy", mode="before", json_schema_input_type=Proxy | ServiceName | None)
    @classmethod
    def _proxy(cls, value):
        return {"service": value} if isinstance(value, str) else value

    @field_validator("apps", mode="before",
                     json_schema_input_type=dict[ServiceName, App | None] | list[ServiceName] | None)
    @classmethod
    def _apps(cls, value):
        if isinstance(value, list):
            if not all(isinstance(name, str) for name in value):
                raise ValueError("must list service names")
            return {name: {} for name in value}
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"must be a list of services ([{value}]) or a mapping of services to their port and "
                             "health path")
        return {k: ({} if v is None else v) for k, v in value.items()}

    def named(self) -> dict[str, str]:
        """service -> role, for every service the contract names."""
        found = {}
        for role, data in (("database", self.database), ("cache", self.cache)):
            if data:
                found[data.service] = role
        if self.migrate:
            found[self.migrate.service] = "migrate"
        found.update({name: "app" for name in self.apps})
        if self.proxy:
            found[self.proxy.service] = "proxy"
        if self.edge:
            from stackctl.edge import SERVICE

            found[SERVICE] = "edge"
        return found

    def check_against(self, services: dict, source: str) -> None:
        """Every service named exists in the compose model, and names no two roles."""
        seen: dict[str, str] = {}
        for role, name in self._pairs():
            if name not in services:
                raise ConfigError(f"{source}: {role} names '{name}', which is not a service of the compose files",
                                  f"services are: {', '.join(sorted(services))}")
            if name in seen:
                raise ConfigError(f"{source}: '{name}' is both {seen[name]} and {role}", "give each service one role")
            seen[name] = role
        if self.proxy and self.proxy.upstream and self.proxy.upstream not in self.apps:
            raise ConfigError(f"{source}: proxy.upstream '{self.proxy.upstream}' is not one of the apps",
                              f"apps are: {', '.join(self.apps) or 'none'}")
        if self.edge:
            self.edge_upstream(source)

    def edge_upstream(self, source: str = "stackctl.yaml") -> tuple[str, int, str, tuple[str, ...]]:
        """What the edge forwards to: (service, container port, health path, checks): the proxy,
        else the one app (its own port unless upstream_port is given); neither: a ConfigError."""
        edge = self.edge
        if self.proxy:
            return self.proxy.service, edge.upstream_port, self.proxy.health or "", self.proxy.checks
        if len(self.apps) != 1:
            raise ConfigError(f"{source}: edge: forwards to the proxy, or to the one app of a stack without one; "
                              f"this stack has no proxy and {len(self.apps)} apps",
                              "name the service that proxies to the apps under proxy:")
        name, app = next(iter(self.apps.items()))
        port = edge.upstream_port if "upstream_port" in edge.model_fields_set else app.port or edge.upstream_port
        return name, port, app.health or "", ()

    def kind(self, role: str) -> str:
        """The kind of the database or cache role: declared, else the role's usual one."""
        data = self.database if role == "database" else self.cache
        return (data.kind if data and data.kind else {"database": "postgres", "cache": "redis"}[role])

    def _pairs(self):
        if self.database:
            yield "database", self.database.service
        if self.cache:
            yield "cache", self.cache.service
        if self.migrate:
            yield "migrate", self.migrate.service
        for name in self.apps:
            yield "apps", name
        if self.proxy:
            yield "proxy", self.proxy.service


def parse(data, source: str) -> Roles:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source} is not a mapping of roles", "see stackctl init, or the README's Adopt your app")
    try:
        return Roles.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "is not a known key (database, cache, migrate, apps, proxy, production, environments, registry, edge)"
        raise ConfigError(f"{source}: {where} {reason}", "fix it, or run stackctl init to propose one") from None


def load(path: Path) -> Roles | None:
    """The roles file, or None when there is none."""
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name} is not UTF-8 text (byte {exc.start} is not)",
                          "save it as UTF-8, or move it away and run stackctl init") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path.name} is not valid YAML{where}", "fix it, or move it away and run stackctl init") from None
    return parse(data, path.name)


# --- detection: what `init` proposes, and what stackctl assumes with no roles file -------------

def _image_is(raw: dict, *names: str) -> bool:
    image = (raw.get("image") or "").lower()
    repo = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    return any(repo == n or repo.startswith(n + "-") for n in names)


def _published_target(raw: dict) -> int | None:
    for port in raw.get("ports") or []:
        if isinstance(port, dict) and port.get("target"):
            return int(port["target"])
    return None


def _healthcheck_path(raw: dict) -> str | None:
    test = " ".join(str(t) for t in ((raw.get("healthcheck") or {}).get("test") or []))
    match = re.search(r"https?://[^/\s'\"]+(/[\w./-]*)", test) or re.search(r"GET (/[\w./-]*) HTTP", test)
    return match.group(1) if match else None


def _exposed_port(raw: dict) -> int | None:
    for item in raw.get("expose") or []:
        return int(str(item).split("/")[0])
    return None


def _listens_on(raw: dict) -> int | None:
    env = raw.get("environment") or {}
    for key in ("PORT", "APP_PORT", "HTTP_PORT", "SERVER_PORT"):
        value = str(env.get(key) or "")
        if value.isdigit():
            return int(value)
    return _exposed_port(raw) or _published_target(raw)


def detect(config: dict, ports: dict[str, int] | None = None) -> Roles:
    """Roles from images, build contexts, commands and depends_on (`docker compose config` JSON).
    `ports`: what `init` learnt of the port each service serves on (its proxy's upstream, its
    image's EXPOSE), for the services compose names none for."""
    services: dict = config.get("services") or {}
    labels = {n: (raw.get("labels") or {}) for n, raw in services.items()}
    from stackctl import kinds

    def of_kind(names: tuple[str, ...]) -> dict | None:
        found = next(((n, k) for n, raw in sorted(services.items()) for k in names
                      if _image_is(raw, *kinds.IMAGES[k]) or labels[n].get("stackctl.probe") == k), None)
        return {"service": found[0], "kind": found[1]} if found else None

    database, cache = of_kind(kinds.DATABASES), of_kind(kinds.CACHES)
    proxy = _proxy(services)
    completed = {d for raw in services.values() for d, c in (raw.get("depends_on") or {}).items()
                 if (c or {}).get("condition") == "service_completed_successfully"}
    data_services = ((database or {}).get("service"), (cache or {}).get("service"))
    oneshots = [n for n, raw in sorted(services.items()) if n not in (*data_services, proxy) and (
        labels[n].get("stackctl.role") == "oneshot" or n in completed
        or re.search(r"migrat", n + " " + " ".join(map(str, raw.get("command") or [])), re.I))]
    migrate = {"service": oneshots[0], "status_command": _status_command(services[oneshots[0]])} if oneshots else None
    taken = {(database or {}).get("service"), (cache or {}).get("service"), proxy, oneshots[0] if oneshots else None}
    apps = {}
    for name, raw in sorted(services.items()):
        if name in taken or not raw.get("build") and not raw.get("image"):
            continue
        if _image_is(raw, "postgres", "postgis", "redis", "valkey", "nginx", "mysql", "mariadb", "mongo", "rabbitmq"):
            continue
        port = _listens_on(raw) if raw.get("ports") or raw.get("expose") or (raw.get("environment") or {}) else None
        port = port or (ports or {}).get(name)
        health = _healthcheck_path(raw) or _label_path(labels[name])
        apps[name] = {"port": port, "health": health} if (port or health) else {}
        apps[name] = {k: v for k, v in apps[name].items() if v}
    upstream = None
    if proxy:
        behind = [d for d in (services[proxy].get("depends_on") or {}) if d in apps]
        upstream = behind[0] if behind else next(iter(apps), None)
    if migrate and not migrate["status_command"]:
        migrate = migrate["service"]
    data = {"database": database, "cache": cache, "migrate": migrate, "apps": apps}
    if proxy:
        data["proxy"] = {"service": proxy, "upstream": upstream,
                         "health": _healthcheck_path(services[proxy]) or _label_path(labels[proxy]),
                         "checks": [p.strip() for p in labels[proxy].get("stackctl.check", "").split(",") if p.strip()]}
        data["proxy"] = {k: v for k, v in data["proxy"].items() if v}
    return parse({k: v for k, v in data.items() if v}, "detected roles")


# How well-known migration tools list what is applied, from the command that applies.
STATUS_COMMANDS = ((r"migration:run", "migration:show"), (r"alembic upgrade \S+", "alembic history --indicate-current"),
                   (r"prisma migrate deploy", "prisma migrate status"), (r"knex migrate:latest", "knex migrate:status"))


def _status_command(raw: dict) -> str | None:
    command = raw.get("command") or []
    text = " ".join(map(str, command)) if isinstance(command, list) else str(command)
    for applies, lists in STATUS_COMMANDS:
        if re.search(applies, text):
            return re.sub(applies, lists, text)
    return None


def _proxy(services: dict) -> str | None:
    """The nginx in front: of the nginx services, the one that publishes ports and waits for the
    most others (a frontend served by nginx sits behind it)."""
    nginx = [n for n, raw in services.items() if _image_is(raw, "nginx")
             or raw.get("build") and _image_is_final_nginx(raw)]
    if not nginx:
        return None

    def score(name: str):
        raw = services[name]
        return (bool(raw.get("ports")), len(raw.get("depends_on") or {}), name in ("proxy", "nginx", "gateway"), name)

    return max(nginx, key=score)


def _label_path(labels: dict) -> str | None:
    probe = labels.get("stackctl.probe") or ""
    return probe.split(":", 1)[1] if probe.startswith("http:") else None


def _dockerfile_text(raw: dict) -> str:
    build = raw.get("build") or {}
    try:
        return (Path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")).read_text(errors="replace")
    except OSError:
        return ""


def _image_is_final_nginx(raw: dict) -> bool:
    """A multi-stage build whose last stage is nginx (a frontend served by nginx)."""
    stages = re.findall(r"^\s*FROM\s+(\S+)", _dockerfile_text(raw), re.M | re.I)
    if not stages:
        return False
    last = stages[-1].lower()
    args = (raw.get("build") or {}).get("args") or {}
    for key, value in args.items():
        last = last.replace("${" + key.lower() + "}", str(value).lower())
    return "nginx" in last


def render(roles: Roles, notes: list[str] | None = None) -> str:
    """The contract as the YAML `init` writes (a new file: the user's compose files are never rewritten)."""
    lines = ["# stackctl.yaml: what each of your compose services is to stackctl (see the README,",
             "# 'Adopt your app'). Written by `stackctl init`; edit it freely."]
    import textwrap

    for note in notes or []:
        lines += [f"# {line}" for line in textwrap.wrap(note, 96)]
    for role in ("database", "cache"):
        data = getattr(roles, role)
        if data and data.kind and data.kind != {"database": "postgres", "cache": "redis"}[role]:
            lines.append(f"{role}: {{service: {data.service}, kind: {data.kind}}}")
        elif data:
            lines.append(f"{role}: {data.service}")
    if roles.migrate:
        if roles.migrate.status_command:
            lines += ["migrate:", f"  service: {roles.migrate.service}",
                      f"  status_command: {roles.migrate.status_command}"]
        else:
            lines.append(f"migrate: {roles.migrate.service}")
    if roles.apps:
        lines.append("apps:")
        for name, app in roles.apps.items():
            fields = ", ".join(f"{k}: {v}" for k, v in app.model_dump(exclude_none=True).items())
            lines.append(f"  {name}: {{{fields}}}")
    if roles.proxy:
        p = roles.proxy
        lines += ["proxy:", f"  service: {p.service}"]
        if p.upstream:
            lines.append(f"  upstream: {p.upstream}")
        if p.health:
            lines.append(f"  health: {p.health}")
        if p.checks:
            lines.append(f"  checks: [{', '.join(p.checks)}]")
        lines.append(f"  switch: {p.switch}")
    if roles.production and roles.production.standalone:
        lines += ["production:", f"  file: {roles.production.file}", "  standalone: true  # a whole model, used alone"]
    elif roles.production:
        lines.append(f"production: {roles.production.file}")
    if roles.environments:
        lines += ["environments:", *(f"  {name}: {rules}" for name, rules in roles.environments.items())]
    if roles.edge:
        e = roles.edge
        lines += ["edge:", f"  hosts: [{', '.join(e.hosts)}]", f"  tls: {e.tls}", f"  upstream_port: {e.upstream_port}",
                  f"  upstream_tls: {str(e.upstream_tls).lower()}"]
    elif roles.proxy:
        lines += _edge_proposal(roles.proxy.service, f"80    # 443 with upstream_tls: true if {roles.proxy.service} "
                                "serves TLS there itself")
    elif len(roles.apps) == 1:
        app, spec = next(iter(roles.apps.items()))
        lines += _edge_proposal(f"{app} (there is no proxy)", f"{spec.port or 80}    # {app}'s container port"
                                f"{'' if spec.port else ' (apps: port, when it is not 80)'}")
    return "\n".join(lines) + "\n"


def _edge_proposal(front: str, upstream_port: str) -> list[str]:
    """init's commented-out edge: block, in front of `front` (the proxy, or the one app)."""
    return [f"# In production, stackctl's edge can own ports 80 and 443 in front of {front}: no failed request",
            "# on a deploy of it, and certificates by itself (README, 'Production'). To have it, uncomment",
            "# and name your hosts:",
            "# edge:",
            "#   hosts: [example.com]",
            "#   tls: acme            # with STACKCTL_ACME_EMAIL in .env.production; internal: a local CA",
            f"#   upstream_port: {upstream_port}"]
