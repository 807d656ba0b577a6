"""Where a stack runs: one host (compose) or a Docker swarm. Both implement the same methods
(check, up and its plan, status, down, logs, config, rollback, the restore runner, and where a
service's container is), and `of` is the one place that chooses between them: nothing else asks
which target it is on.

The implementations register themselves here (targets.onehost, targets.swarm) and are imported
by the composition root (stackctl.cli), so this registry imports nothing: the flows the targets
call reach the target through the stack without an import cycle. A new target is a module here
that registers itself, and one import in stackctl.cli.
"""

from __future__ import annotations

NAMES = ("compose", "swarm")
_registered: dict = {}


def register(target):
    _registered[target.name] = target
    return target


def of(name: str):
    """The target called `name` (compose: one host; swarm)."""
    if name not in _registered:
        from stackctl.errors import ConfigError

        raise ConfigError(f"no target {name!r} is known here", f"use one of: {', '.join(NAMES)}")
    return _registered[name]
