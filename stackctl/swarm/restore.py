"""`stackctl --target swarm restore`: backup.restore's steps and guarantees, with swarm's ways of
stopping and starting. A task container stopped by hand is replaced by swarm at once, so the
writers are stopped by scaling their services to 0 (their counts kept), and Redis's snapshot is
put into its volume while its service is at 0. Starting again keeps each service's spec as it
was (the version that ran, not whatever the files would build now): the migration job is run
again, then each wave scaled back and gated on health."""

from __future__ import annotations

from stackctl.backup.restore import Restoring
from stackctl.errors import EXIT_FAILED, StackError
from stackctl.health.gate import wait_ready
from stackctl.swarm import gate, stack_command
from stackctl.swarm.stackfile import waves

SCALE_TIMEOUT = 120


class SwarmRestoring(Restoring):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The writers' counts before the restore scales them to 0 (one left at 0 by an earlier failure: 1).
        self.counts = {name: _replicas(self.eng.swarm_service(self._full(name))) or 1 for name in self.users}

    def can_pause(self) -> bool:
        return False  # tasks are scaled to 0 and back: a swarm has no pause across its nodes

    def stop_users(self) -> None:
        self._scale({name: 0 for name in self.users})

    def undo_stop(self) -> None:
        self._start(run_oneshots=False)  # the data is as it was: the migration is not run again

    def do_start(self) -> None:
        self._start(run_oneshots=True)

    def do_put_snapshot(self) -> None:
        self._put_rdb(self.redis_path, self.set.file(self.set.cache).read_bytes())  # where this server keeps it, not the set's word

    def undo_put_snapshot(self) -> None:
        self._put_rdb(self.redis_path, self.redis_aside)

    def _full(self, service: str) -> str:
        return f"{self.stack.name}_{service}"

    def _start(self, *, run_oneshots: bool) -> None:
        """Wave by wave, as `up`: the migration job run again, then the stopped services scaled back."""
        model = self.stack.model
        for wave in waves(model):
            if run_oneshots:
                for name in [n for n in wave if model.services[n].oneshot]:
                    self._rerun(name)
            self._scale({name: self.counts[name] for name in wave if name in self.counts})

    def _rerun(self, service: str) -> None:
        full = self._full(service)
        found = self.eng.swarm_service(full)
        if found is None:
            return
        was = gate.before(found)
        self.report.note(f"{service} run again")
        self._swarm(stack_command.rerun_argv(full))
        self._wait(full, lambda: gate.observe(*self._service_and_tasks(full), was), "complete its run")

    def _put_rdb(self, path: str, data: bytes) -> None:
        """Redis's service at 0 (it saves on the way down; then nothing writes the file), the RDB
        written through its stopped container into the volume, the service at 1 and healthy."""
        self._scale({self.cache: 0})
        self.stack.kind("cache").put_rdb(self.eng, self._newest_container(self.cache), path, data)
        self._scale({self.cache: 1})

    def _newest_container(self, service: str) -> str:
        """The service's newest task container on this node, running or stopped."""
        full = self._full(service)
        mine = [c for c in self.eng.stack_containers(self.stack.name)
                if (c.get("Labels") or {}).get("com.docker.swarm.service.name") == full]
        if not mine:
            raise StackError(f"no container of {full} on this node", "run stackctl from the node that keeps the data "
                             "(docker node ls; the node labelled stackctl.<stack>.data)", EXIT_FAILED)
        return max(mine, key=lambda c: c.get("Created", 0))["Id"]

    def _scale(self, counts: dict[str, int]) -> None:
        if not counts:
            return
        self._swarm(stack_command.scale_argv({self._full(name): n for name, n in counts.items()}))
        for name, count in sorted(counts.items()):
            full = self._full(name)
            self.report.note(f"{name} scaled to {count}")
            if count == 0:
                self._wait(full, lambda: gate.scaled_to_zero(*self._service_and_tasks(full)), "stop")
            else:
                was = gate.before(self.eng.swarm_service(full))
                self._wait(full, lambda: gate.observe(*self._service_and_tasks(full), was), f"run {count} task(s)")

    def _service_and_tasks(self, full: str) -> tuple[dict | None, list[dict]]:
        found = self.eng.swarm_service(full)
        return found, self.eng.swarm_tasks(found) if found else []

    def _wait(self, full: str, observe, what: str) -> None:
        result = wait_ready(observe, SCALE_TIMEOUT, max_interval=0.5)
        if not result.ok:
            raise StackError(f"{full} did not {what} in {result.elapsed:.0f}s: {result.detail}",
                             f"see docker service ps {full}", EXIT_FAILED)

    def _swarm(self, argv: list[str]) -> None:
        done = self.eng.cli(argv, timeout=60)
        if done.exit_code != 0:
            raise StackError(f"docker {' '.join(argv[:2])} failed: {(done.stderr or done.stdout).strip()[-300:]}",
                             f"see docker service ls --filter label=com.docker.stack.namespace={self.stack.name}",
                             EXIT_FAILED)


def _replicas(service: dict | None) -> int:
    return ((((service or {}).get("Spec") or {}).get("Mode") or {}).get("Replicated") or {}).get("Replicas", 0)
