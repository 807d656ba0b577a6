"""The proxy switch contract: which app container a proxy sends traffic to.

A proxy meets the contract (stackctl.yaml: proxy.switch: include, proxy.upstream: the app,
apps.<app>.port) when its nginx resolves the app at request time through a variable,
`set $<app>_upstream <app>:<port>;`, and then includes PIN_DIR/<app>-upstream*.inc, which
stackctl writes inside the proxy container to pin one container by name, followed by a graceful
`nginx -s reload` (shipped as stackctl/snippets/nginx-upstream.conf).
"""

from __future__ import annotations

import re

from stackctl.errors import EXIT_FAILED, StackError
from stackctl.stack import Stack

PIN_DIR = "/tmp/stackctl-nginx"


class RolloutFailed(StackError):
    pass


class Proxies:
    """The running proxy containers in front of an app, when the proxy meets the contract above."""

    def __init__(self, stack: Stack, service: str):
        self.stack, self.service = stack, service
        model = stack.model
        proxy, port = model.one("proxy"), model.services[service].port
        self.active = bool(proxy and model.upstream == service and model.switch == "include" and port)
        self.variable = "$" + re.sub(r"[^A-Za-z0-9_]", "_", service) + "_upstream"
        self.file = f"{PIN_DIR}/{service}-upstream.inc"
        self.port = port
        self.containers = [c for c in stack.engine.service_containers(stack.name, proxy) if c.state == "running"] \
            if self.active else []

    def pinned(self) -> set[str]:
        """The container names the proxies are pinned to now ("" where they follow DNS)."""
        found = set()
        for proxy in self.containers:
            out = self.stack.engine.exec(proxy.id, ["sh", "-c", f"cat {self.file} 2>/dev/null"])
            found.add(out.stdout.strip().removeprefix(f"set {self.variable} ").removesuffix(";").rsplit(":", 1)[0])
        return found

    def pin(self, target: str | None) -> None:
        """Send the app's traffic to one container by name (None: back to the DNS name)."""
        for proxy in self.containers:
            cmd = list(self.stack.engine.inspect(proxy.id).command)
            config = ["-e", "stderr"] + (["-c", cmd[cmd.index("-c") + 1]] if "-c" in cmd else [])
            line = f"set {self.variable} {target}:{self.port};" if target else ""
            script = (f'mkdir -p {PIN_DIR} && rm -f {self.file} && '
                      f'{{ [ -z "$1" ] || printf "%s\\n" "$1" > {self.file}; }} && '
                      f'nginx {" ".join(config)} -t -q && nginx {" ".join(config)} -s reload')
            result = self.stack.engine.exec(proxy.id, ["sh", "-c", script, "pin", line])
            if result.exit_code != 0:
                raise RolloutFailed(f"could not switch the proxy in {proxy.name}: "
                                    f"{(result.stderr or result.stdout).strip()}", exit_code=EXIT_FAILED)


def pin_started_proxy(stack: Stack) -> str | None:
    """Pin a proxy `up` just started to the serving upstream container, while it holds (almost)
    no client connections: a later deploy then reloads it once, and a broken release never."""
    upstream = stack.model.upstream
    if upstream is None:
        return None
    proxies = Proxies(stack, upstream)
    serving = [c for c in stack.engine.service_containers(stack.name, upstream) if c.state == "running"]
    if not proxies.containers or not serving or proxies.pinned() == {serving[-1].name}:
        return None
    proxies.pin(serving[-1].name)
    return serving[-1].name
