"""What `up` writes for the edge before it starts, and applies to a running edge: its HAProxy
configuration, the certificates it serves, its ACME settings (`.stackctl/edge-<env>/`, private to
its owner, bound read-only into the container), and its image built once per recipe."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from stackctl.edge import SERVICE, certs, haproxy, override
from stackctl.errors import ConfigError
from stackctl.report import Reporter


@dataclass(frozen=True)
class Prepared:
    changed: tuple[str, ...]  # the files written anew (haproxy.cfg, certs/edge.pem, ...)
    reloaded: bool  # a running edge took them in


def edge_config(stack) -> haproxy.EdgeConfig:
    declared, settings = stack.declared, stack.settings
    edge = declared.edge
    upstream, port, health, _ = declared.edge_upstream()
    return haproxy.EdgeConfig(hosts=edge.hosts, tls=edge.tls, upstream=upstream, upstream_port=port,
                              upstream_tls=edge.upstream_tls, health=health,
                              https_port=settings.edge_https_port)


def files(stack) -> dict[str, bytes]:
    """Every file the edge reads, by its path under the edge's folder (certificates made or read here)."""
    config, settings, project = edge_config(stack), stack.settings, stack.project
    found = {"haproxy.cfg": haproxy.render(config).encode(), "tls": config.tls.encode() + b"\n"}
    if config.tls == "internal":
        current = project.edge_dir / "certs" / "edge.pem"
        root, _ = certs.ca_paths(project.state_dir)
        found["certs/edge.pem"] = (current.read_bytes() if certs.current_serves(current, config.hosts, root)
                                   else certs.signed_by_local_ca(project.state_dir, config.hosts))
    elif config.tls == "files":
        from stackctl import tls

        cert, key = tls.paths(project, settings)
        try:
            found["certs/edge.pem"] = cert.read_bytes().rstrip(b"\n") + b"\n" + key.read_bytes()
        except OSError as exc:
            raise ConfigError(f"edge tls: files: cannot read {exc.filename} ({exc.strerror})",
                              "set STACKCTL_TLS_CERT_FILE and STACKCTL_TLS_KEY_FILE, or stackctl certs self-signed")
    else:
        if not settings.acme_email:
            raise ConfigError("edge tls: acme needs STACKCTL_ACME_EMAIL (the ACME account's address)",
                              f"add STACKCTL_ACME_EMAIL=you@example.com to {project.env_file.name}")
        fallback = project.edge_dir / "fallback.pem"
        found["fallback.pem"] = fallback.read_bytes() if fallback.is_file() else certs.self_signed(config.hosts)
        found["acme.env"] = "".join(f"{k}={shlex.quote(str(v))}\n" for k, v in (
            ("ACME_DIRECTORY", settings.acme_directory), ("ACME_EMAIL", settings.acme_email),
            ("HOSTS", " ".join(config.hosts)), ("RENEW_DAYS", settings.acme_renew_days),
            ("CHECK_SECONDS", settings.acme_check_seconds))).encode()
        if settings.acme_ca_file:
            path = Path(settings.acme_ca_file)
            path = path if path.is_absolute() else project.root / path
            try:
                found["acme-ca.pem"] = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"STACKCTL_ACME_CA_FILE: cannot read {path} ({exc.strerror})",
                                  "point it at the PEM of the CA your ACME server's listener uses")
    return found


def write(folder: Path, wanted: dict[str, bytes]) -> tuple[str, ...]:
    """Write what differs (atomically, private to the owner); remove what is no longer wanted."""
    from stackctl.statefiles import private_dir
    from stackctl.tls import _replace

    private_dir(folder)
    private_dir(folder / "certs")
    changed = []
    for name, data in wanted.items():
        path = folder / name
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            pass
        _replace(path, data, 0o600)
        changed.append(name)
    for path in [*folder.glob("*"), *(folder / "certs").glob("*")]:
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in wanted:
            path.unlink()
            changed.append(name)
    return tuple(changed)


def prepare(stack, report: Reporter) -> Prepared:
    """The edge's files written, its image built if the engine lacks it, a running edge reloaded
    when what it reads changed."""
    if stack.engine.remote:
        raise ConfigError("stackctl's edge needs the engine on this host (it reads its configuration from here)",
                          "run stackctl on the production host, or remove edge: from stackctl.yaml")
    changed = write(stack.project.edge_dir, files(stack))
    if stack.engine.image_id(override.image()) is None:
        report.phase("building the edge")
        for _ in stack.compose.build([SERVICE]):
            pass
    current = stack.engine.image_id(override.image())
    # A running edge of an older image is replaced by compose next (its image changed): not reloaded.
    containers = stack.engine.service_containers(stack.name, SERVICE, running_only=True)
    running = [c for c in containers if c.image_id == current]
    if len(running) < len(containers):
        report.note("edge: its image changed (a new stackctl): its container is replaced, and the host's ports "
                    "answer nothing until the new one is up (10 of 448 requests failed over 0.32 s at 100 req/s in "
                    "bench/deploy.py --edge); the only change that is not a switch or a reload")
    reloaded = False
    if changed and running:
        from stackctl.edge import runtime

        for container in running:
            runtime.reload(stack.engine, container.id)
        reloaded = True
        report.note(f"edge: {', '.join(changed)} changed: reloaded without closing a connection")
    return Prepared(changed, reloaded)
