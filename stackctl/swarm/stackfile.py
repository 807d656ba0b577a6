"""The stack file swarm deploys, from the merged compose model: a pure function, compared as text
in unit tests and printed by `stackctl config --target swarm`.

What swarm needs and the compose files do not say comes from the roles:
- every service answers on DNS round robin (`endpoint_mode: dnsrr`): it works without IPVS, where
  swarm's virtual IPs and routing mesh do not, and the proxy's resolver spreads requests over the
  replicas; published ports are host-mode (bound on the node that runs the task);
- app services update `start-first` (the new task healthy before the old one stops) and swarm
  rolls an update back on failure; the migration is a one-off job, run again on every deploy;
- the database and cache are pinned to the node labelled for this stack's data (their volumes
  live there) and are not published: swarm's host ports bind every interface;
- compose secrets become versioned docker secrets (created by stackctl, named by content), so a
  changed secret is a new name and the services that read it roll over to it.
Keys swarm ignores or refuses (build, depends_on, develop, restart, container_name, ...) are left
out; stackctl does their work itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stackctl.plan import StackModel, levels

# Service keys a swarm stack file (compose file format 3.9) accepts and swarm applies.
KEPT = ("image", "command", "entrypoint", "environment", "healthcheck", "user", "working_dir", "hostname",
        "init", "labels", "logging", "read_only", "stop_grace_period", "stop_signal", "sysctls", "tmpfs",
        "ulimits", "cap_add", "cap_drop", "extra_hosts", "dns", "dns_search", "security_opt")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period", "disable")
STATEFUL = ("database", "cache")
UPDATE = {"parallelism": 1, "order": "start-first", "failure_action": "rollback", "monitor": "10s"}
ROLLBACK = {"parallelism": 1, "order": "start-first"}
# A proxy that publishes host ports cannot run two tasks on one node: stop, then start.
PROXY_UPDATE = {"parallelism": 1, "order": "stop-first", "failure_action": "rollback", "monitor": "5s"}
JOB_RUN_LABEL = "stackctl.run"  # changes on every deploy: swarm runs the job again


def content_tag(image: str, image_id: str) -> str:
    """`repo:tag` -> `repo:stackctl-<12 hex of the image id>`."""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repository}:stackctl-{image_id.removeprefix('sha256:')[:12]}"


def data_label(stack: str) -> str:
    """The node label that says where this stack's database and cache (and their volumes) live."""
    return f"stackctl.{stack}.data"


@dataclass(frozen=True)
class SwarmChoices:
    replicas: dict[str, int] = field(default_factory=dict)  # app service -> replicas (default 1)
    secrets: dict[str, str] = field(default_factory=dict)  # compose secret -> docker secret (versioned)
    run: str = ""  # this deploy's id: the migration job runs again when it changes
    # built image -> the same image under a tag naming its content (stackctl-<id>): a rebuilt
    # image is a changed spec, which swarm rolls out, and a rollback finds the old one
    images: dict[str, str] = field(default_factory=dict)


def waves(model: StackModel) -> list[list[str]]:
    """Services grouped by dependency depth: a wave starts once every earlier one is healthy (or,
    for a one-off, completed)."""
    depth = levels(model)
    return [sorted(n for n in model.services if depth[n] == level) for level in sorted(set(depth.values()))]


def stack_file(config: dict, model: StackModel, services: list[str], choices: SwarmChoices,
               stack: str) -> tuple[dict, list[str]]:
    """The stack file deploying `services` (with what they need), and notes on what changed from
    the compose files and why."""
    notes: list[str] = []
    raw = config.get("services") or {}
    out_services = {name: _service(name, raw[name], model, choices, stack, notes) for name in services}
    used_volumes = {v["source"] for s in out_services.values() for v in s.get("volumes", [])
                    if v.get("type") == "volume" and v.get("source")}
    used_networks = {n for s in out_services.values() for n in s.get("networks", {})} | {"default"}
    used_secrets = {s["source"] for svc in out_services.values() for s in svc.get("secrets", [])}
    document: dict = {"version": "3.9", "services": out_services,
                      "networks": {name: _network(spec) for name, spec in (config.get("networks") or {}).items()
                                   if name in used_networks} or {"default": _network({})}}
    volumes = {name: _volume(spec) for name, spec in (config.get("volumes") or {}).items() if name in used_volumes}
    if volumes:
        document["volumes"] = volumes
    if used_secrets:
        document["secrets"] = {name: {"external": True, "name": choices.secrets[name]} for name in sorted(used_secrets)}
    return document, notes


def _service(name: str, raw: dict, model: StackModel, choices: SwarmChoices, stack: str, notes: list[str]) -> dict:
    spec = model.services[name]
    out = {key: raw[key] for key in KEPT if raw.get(key) is not None}
    if spec.image and not out.get("image"):  # built with no image: of its own: the name compose gives it
        out["image"] = spec.image
    if out.get("image") in choices.images:
        out["image"] = choices.images[out["image"]]
    if "healthcheck" in out:
        out["healthcheck"] = {k: v for k, v in out["healthcheck"].items() if k in HEALTHCHECK_KEYS}
    # swarm ignores a service's `tmpfs:` list: each path becomes a tmpfs mount
    tmpfs = out.pop("tmpfs", None)
    mounts = [_mount(v) for v in raw.get("volumes") or []] + [_tmpfs(t) for t in _as_list(tmpfs)]
    if mounts:
        out["volumes"] = mounts
    networks = {n: _aliases(v) for n, v in (raw.get("networks") or {}).items()}
    if set(networks) - {"default"} or any(networks.values()):
        out["networks"] = networks
    if raw.get("secrets"):
        out["secrets"] = [{k: v for k, v in s.items() if k in ("source", "target", "uid", "gid", "mode")}
                          for s in raw["secrets"]]
    ports = _ports(name, raw.get("ports") or [], spec.role, notes, fronted=model.one("proxy") is not None)
    if ports:
        out["ports"] = ports
    out["deploy"] = _deploy(name, raw.get("deploy") or {}, spec, choices, stack, holds_ports=bool(ports))
    return out


def _deploy(name: str, user: dict, spec, choices: SwarmChoices, stack: str, holds_ports: bool = False) -> dict:
    """`holds_ports`: it publishes host-mode ports, which an old and a new task cannot both hold on
    one node: replaced stop-first (a short gap, as for the proxy)."""
    deploy = {k: v for k, v in user.items() if k in ("resources", "labels", "placement")}
    deploy["endpoint_mode"] = "dnsrr"
    if spec.oneshot:
        deploy.update(mode="replicated-job", restart_policy={"condition": "none"})
        deploy["labels"] = {**(deploy.get("labels") or {}), JOB_RUN_LABEL: choices.run}
        return deploy
    deploy["replicas"] = choices.replicas.get(name, 1)
    deploy["restart_policy"] = {"condition": "any", "delay": "2s"}
    if spec.role in STATEFUL:
        placement = dict(deploy.get("placement") or {})
        placement["constraints"] = [*(placement.get("constraints") or []), f"node.labels.{data_label(stack)} == true"]
        deploy["placement"] = placement
        deploy["update_config"] = {"parallelism": 1, "order": "stop-first", "failure_action": "rollback"}
    elif spec.role == "proxy" or holds_ports or (spec.published and spec.role != "app"):
        deploy["update_config"], deploy["rollback_config"] = dict(PROXY_UPDATE), {"parallelism": 1, "order": "stop-first"}
    else:
        deploy["update_config"], deploy["rollback_config"] = dict(UPDATE), dict(ROLLBACK)
    return deploy


def _ports(name: str, ports: list[dict], role: str, notes: list[str], fronted: bool = True) -> list[dict]:
    """`fronted`: the stack has a proxy, which is an app's way in; without one, the app's own ports
    are its way in, published in host mode (one task per node can hold a port)."""
    if not ports:
        return []
    published = ", ".join(str(p.get("published") or p.get("target")) for p in ports)
    if role in STATEFUL:
        notes.append(f"{name}: port {published} not published (swarm binds host ports on every interface; "
                     f"reach it with docker exec on its node)")
        return []
    if role == "app" and fronted:
        notes.append(f"{name}: port {published} not published (its replicas are reached through the proxy)")
        return []
    if role == "app":
        notes.append(f"{name}: port {published} published in host mode, as the stack has no proxy: one replica "
                     "per node can hold it")
    return [{"target": int(p["target"]), "published": int(p["published"]), "protocol": p.get("protocol", "tcp"),
             "mode": "host"} for p in ports if p.get("published")]


def _mount(volume: dict) -> dict:
    out = {k: v for k, v in volume.items() if k in ("type", "source", "target", "read_only")}
    if volume.get("type") == "bind" and (volume.get("bind") or {}).get("propagation"):
        out["bind"] = {"propagation": volume["bind"]["propagation"]}
    if volume.get("type") == "volume" and (volume.get("volume") or {}).get("nocopy"):
        out["volume"] = {"nocopy": True}
    if volume.get("type") == "tmpfs" and (volume.get("tmpfs") or {}).get("size"):
        out["tmpfs"] = {"size": volume["tmpfs"]["size"]}
    return out


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _tmpfs(entry: str) -> dict:
    """`/tmp` or `/tmp:size=64m,mode=1777` -> a tmpfs mount (its size kept)."""
    target, _, options = entry.partition(":")
    mount: dict = {"type": "tmpfs", "target": target}
    size = dict(o.partition("=")[::2] for o in options.split(",") if "=" in o).get("size")
    if size:
        units = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
        mount["tmpfs"] = {"size": int(size[:-1]) * units[size[-1].lower()] if size[-1].lower() in units else int(size)}
    return mount


def _aliases(network) -> dict | None:
    aliases = (network or {}).get("aliases")
    return {"aliases": aliases} if aliases else None


def _network(spec: dict) -> dict:
    if spec.get("external"):
        return {"external": True, "name": spec["name"]}
    return {"driver": "overlay", "attachable": True}


def _volume(spec: dict) -> dict:
    """The compose volume's own name: the data a single-host stack wrote is the swarm stack's."""
    out = {"name": spec["name"]} if spec.get("name") else {}
    if spec.get("external"):
        out["external"] = True
    return out
