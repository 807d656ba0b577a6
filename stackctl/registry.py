"""Registries: where a release's images are pushed once and pulled by digest wherever it runs.

The address is `registry:` in stackctl.yaml or STACKCTL_REGISTRY (which wins):
`host[:port][/namespace]`, e.g. `ghcr.io/acme`. stackctl never talks to the registry itself: the
engine pushes and pulls, with the login the docker CLI already has (`docker login`, credential
helpers: the docker SDK reads the same config) and the engine's own TLS trust (a private CA at
/etc/docker/certs.d/HOST:PORT/ca.crt on the engine's host). Plain HTTP is for a registry on
loopback only: an `http://` address elsewhere is refused, and so is a registry the engine has
been told to reach without TLS (`insecure-registries`) unless it is on loopback.

The functions that take a `stack` take a stackctl.stack.Stack (not imported: settings validate
addresses here, and the stack imports settings).
"""

from __future__ import annotations

import re

from stackctl.errors import EXIT_USAGE, StackError

LOOPBACK = re.compile(r"^(localhost|127(\.[0-9]{1,3}){3}|\[::1\])(:[0-9]{1,5})?$")
ADDRESS = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$")
DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def parse_address(value: str) -> str:
    """`host[:port][/namespace]` from what a user wrote (an https:// or loopback http:// prefix
    dropped); a ValueError says what to write instead."""
    value = value.strip().rstrip("/")
    scheme, sep, rest = value.partition("://")
    if sep:
        host = rest.split("/")[0]
        if scheme == "http" and not LOOPBACK.match(host):
            raise ValueError(f"plain http:// is for a registry on loopback only: give {host} TLS (a private CA goes "
                             f"in /etc/docker/certs.d/{host}/ca.crt on the engine's host) and write it without http://")
        if scheme not in ("http", "https"):
            raise ValueError("use host[:port][/namespace], e.g. ghcr.io/acme or 127.0.0.1:5000")
        value = rest
    if "@" in value:
        raise ValueError("carries credentials: log in once with docker login HOST (stackctl uses that login)")
    if not ADDRESS.match(value):
        raise ValueError("use host[:port][/namespace] in lower case, e.g. ghcr.io/acme or 127.0.0.1:5000")
    return value


def address(stack) -> str | None:
    return stack.settings.registry or (stack.declared.registry if stack.declared else None)


def required(stack) -> str:
    found = address(stack)
    if not found:
        raise StackError("no registry is set: there is nowhere to push to or pull a release from",
                         "add registry: HOST[:PORT]/NAMESPACE to stackctl.yaml, or set STACKCTL_REGISTRY", EXIT_USAGE)
    return found


def host(registry: str) -> str:
    return registry.split("/")[0]


def repository(image: str) -> str:
    """`stackctl/api:dev` -> `stackctl/api`, `ghcr.io/acme/api@sha256:...` -> `ghcr.io/acme/api` (a
    registry host with a port keeps its colon)."""
    image = image.split("@", 1)[0]
    head, sep, tail = image.rpartition(":")
    return head if sep and "/" not in tail else image


def tagged(image: str, release: str) -> str:
    return f"{repository(image)}:{release}"


def repository_in(registry: str, service: str, image: str, named: bool) -> str:
    """The repository a service's image has in the registry: its own name without another
    registry's host (`stackctl/api:dev` -> `REGISTRY/stackctl/api`), or the service's name when
    compose named the image after the project (which differs between environments)."""
    if not named:
        return f"{registry}/{service}"
    repo = repository(image.split("@")[0])
    if repo.startswith(registry + "/"):
        return repo
    first, _, rest = repo.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        repo = rest
    return f"{registry}/{repo}"


def refuse_plain_http(stack, registry: str) -> None:
    """A registry the engine reaches without TLS must be on loopback (the engine's own default)."""
    name = host(registry)
    if LOOPBACK.match(name):
        return
    configs = ((stack.engine.info().get("RegistryConfig") or {}).get("IndexConfigs") or {})
    entry = configs.get(name)
    if entry is not None and entry.get("Secure") is False:
        raise StackError(f"the engine reaches registry {name} without TLS (insecure-registries): images would travel "
                         "unencrypted and unauthenticated", f"give {name} TLS and remove it from the engine's "
                         "insecure-registries (a private CA: /etc/docker/certs.d/HOST:PORT/ca.crt)", EXIT_USAGE)


def is_digest(reference: str) -> bool:
    return bool(DIGEST.match(reference))
