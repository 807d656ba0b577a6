"""`stackctl --target swarm logs`: `docker service logs` of each service (every task, on any node),
merged line by line as they come."""

from __future__ import annotations

import queue
import threading
from typing import Iterator

from stackctl.errors import EXIT_USAGE, StackError
from stackctl.stack import Stack
from stackctl.swarm import stack_command


def logs(stack: Stack, services: list[str], *, follow: bool, tail: int | None, since: str | None,
         timestamps: bool = False, until: str | None = None) -> Iterator[str]:
    if until:
        raise StackError("--until is not available on a swarm (docker service logs has no --until)",
                         "use --since, or --tail", EXIT_USAGE)
    unknown = sorted(set(services) - set(stack.model.services))
    if unknown:
        raise StackError(f"no service {unknown[0]} in this stack", f"one of: {', '.join(stack.model.names())}",
                         EXIT_USAGE)
    if tail is not None and tail < 0:
        raise StackError(f"--tail must be 0 or more, not {tail}", "e.g. stackctl logs --tail 100", EXIT_USAGE)
    present = {s["Spec"]["Name"] for s in stack.engine.stack_services(stack.name)}
    names = [f"{stack.name}_{s}" for s in (services or stack.model.names()) if f"{stack.name}_{s}" in present]
    argvs = [stack_command.logs_argv(n, tail=None if tail is None else str(tail), follow=follow, since=since,
                                     timestamps=timestamps) for n in names]
    return _merged(stack.engine, argvs)


def _merged(engine, argvs: list[list[str]]) -> Iterator[str]:
    lines: queue.Queue = queue.Queue()
    processes = [engine.cli_pipe(argv, merge_stderr=True) for argv in argvs]

    def pump(process) -> None:
        for raw in process.stdout:
            lines.put(raw.decode("utf-8", "replace"))
        lines.put(None)

    for process in processes:
        process.stdin.close()
        threading.Thread(target=pump, args=(process,), daemon=True).start()
    open_streams = len(processes)
    try:
        while open_streams:
            line = lines.get()
            if line is None:
                open_streams -= 1
            else:
                yield line
    finally:
        for process in processes:
            process.kill()
