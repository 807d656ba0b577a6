"""The proxy switch contract: which app container a proxy sends traffic to, switched without
reloading the proxy.

A proxy meets the contract (stackctl.yaml: proxy.switch: include, proxy.upstream: the app,
apps.<app>.port) when its nginx resolves the app at request time through a variable,
`set $<app>_upstream <app>:<port>;`, and then includes PIN_DIR/<app>-upstream*.inc (shipped as
stackctl/snippets/nginx-upstream.conf). When the proxy starts, stackctl writes that file once
(and reloads nginx once, while it holds no client connections). It names two slots, the app's
containers `<project>-<app>-1` and `<project>-<app>-2`, and picks one per request:

    set $app_upstream <project>-app-1:<port>;
    if (-f PIN_DIR/app-slot-2) { set $app_upstream <project>-app-2:<port>; }

A deploy starts the new container beside the serving one, gates it on its health, names it
after the free slot (`docker rename`), makes sure the proxy's resolver answers that name with the
new container's address (an engine in swarm mode keeps answering a renamed container's old name:
the new container, which takes no traffic yet, then leaves and rejoins its networks), and
creates or removes the marker file: the next request goes to the new container, and no reload
closes a client's keep-alive connection.
"""

from __future__ import annotations

import re

from stackctl.containers import ContainerInfo
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
        self.marker = f"{PIN_DIR}/{service}-slot-2"
        self.port = port
        self.slots = (f"{stack.name}-{service}-1", f"{stack.name}-{service}-2")
        self.containers = stack.engine.service_containers(stack.name, proxy, running_only=True) \
            if self.active else []

    def include(self) -> str:
        one, two = self.slots
        return (f"set {self.variable} {one}:{self.port};\n"
                f"if (-f {self.marker}) {{ set {self.variable} {two}:{self.port}; }}\n")

    def _sh(self, proxy: ContainerInfo, script: str, *args: str) -> str:
        result = self.stack.engine.exec(proxy.id, ["sh", "-c", script, "stackctl", *args])
        if result.exit_code != 0:
            raise RolloutFailed(f"could not switch the proxy in {proxy.name}: {(result.stderr or result.stdout).strip()}",
                                exit_code=EXIT_FAILED)
        return result.stdout

    def install(self, serving: ContainerInfo | None) -> None:
        """The two-slot include in every proxy (reloaded only where it was not there yet), and the
        serving container named after a slot, the marker pointing at it."""
        if serving is not None and serving.name not in self.slots:
            self.stack.engine.rename(serving.id, self.slots[0])
            self.resolved(self.slots[0], serving.id, forget=(serving.name,))
            serving = self.stack.engine.inspect(serving.id)
        for proxy in self.containers:
            cmd = list(self.stack.engine.inspect(proxy.id).command)
            config = " ".join(["-e", "stderr"] + (["-c", cmd[cmd.index("-c") + 1]] if "-c" in cmd else []))
            self._sh(proxy, f'mkdir -p {PIN_DIR} && if [ "$(cat {self.file} 2>/dev/null)" != "$(printf %s "$1")" ]; '
                            f'then printf "%s" "$1" > {self.file} && nginx {config} -t -q && '
                            f'nginx {config} -s reload; fi', self.include())
        if serving is not None:
            self.point(serving.name)

    def serving_slot(self) -> str:
        """The slot the proxies send traffic to now (the first proxy's marker decides)."""
        if not self.containers:
            return self.slots[0]
        marked = self._sh(self.containers[0], f"[ -e {self.marker} ] && echo 2 || echo 1").strip()
        return self.slots[1] if marked == "2" else self.slots[0]

    def point(self, slot: str) -> None:
        """Every proxy's next request goes to `slot` (a marker file; nothing is reloaded)."""
        action = f"touch {self.marker}" if slot == self.slots[1] else f"rm -f {self.marker}"
        for proxy in self.containers:
            self._sh(proxy, f"mkdir -p {PIN_DIR} && {action}")

    def take_over(self, new: ContainerInfo, others: list[ContainerInfo]) -> str:
        """Name the healthy new container after the free slot and send the traffic there."""
        free = next(slot for slot in self.slots if slot != self.serving_slot())
        for container in others:  # a container still holding the free slot's name takes no traffic
            if container.name == free:
                self.stack.engine.stop(container.id, 10)
                self.stack.engine.remove(container.id)
        if new.name != free:  # compose may have given it that very name
            self.stack.engine.rename(new.id, free)
            self.resolved(free, new.id, forget=(new.name,))
        self.point(free)
        return free

    def resolved(self, name: str, container: str, forget: tuple[str, ...] = ()) -> None:
        """The proxies' resolver answers `name` with the container's address (seen from the first
        proxy, as nginx asks: getent in its container); else the container rejoins its networks
        and it is asked again. Refused, before any traffic moves, when it still does not."""
        if not self.containers:
            return
        for attempt in range(2):
            ips = set(self.stack.engine.inspect(container).ips)
            said = self.stack.engine.exec(self.containers[0].id, ["getent", "hosts", name])
            if said.exit_code == 127:  # no getent in this proxy's image: nothing to ask it with
                return
            answered = {line.split()[0] for line in said.stdout.splitlines() if line.split()}
            if answered and answered <= ips:
                return
            if attempt == 0:
                self.stack.engine.reconnect(container, forget)
        raise RolloutFailed(f"the engine's DNS does not answer {name} with the new container's address "
                            f"({', '.join(sorted(ips))}), as the proxy would ask it: traffic was not moved",
                            "see docker network inspect; an engine in swarm mode: docker swarm leave, or a "
                            "newer engine", exit_code=EXIT_FAILED)


def pin_started_proxy(stack: Stack) -> str | None:
    """When `up` starts the proxy (it holds no client connections yet): the two-slot include,
    written and loaded once, and the serving upstream container named after a slot."""
    upstream = stack.model.upstream
    if upstream is None:
        return None
    proxies = Proxies(stack, upstream)
    if not proxies.containers:
        return None
    serving = stack.engine.service_containers(stack.name, upstream, running_only=True)
    proxies.install(serving[-1] if serving else None)
    return serving[-1].name if serving else None
