"""Plans as data, and the one way they are followed.

A plan is a list of steps decided from what was observed (pure functions in deploy.plan,
backup.plans); `--dry-run` prints it, unit tests compare it as text. `follow` takes the steps in
order, times each, reports it, and when one fails runs the compensations of the steps already
done, newest first, before the failure goes on up (typed, never an attribute on an exception).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

KEPT = "kept"  # what an action returns when the step found nothing to do (not timed, not reported)

@dataclass(frozen=True)
class Step:
    """One step of any plan (up, deploy, rollback, backup, restore): what it does to what, why or
    how, what its undo is, and (up) what it waits for."""

    action: str
    target: str = ""
    detail: str = ""
    undo: str = ""  # what a later failure does about this step (said in the plan, run by `follow`)
    after: tuple[str, ...] = ()  # steps (their targets) this one waits for: up starts it once they are ready

    def __str__(self) -> str:
        head = f"{self.action} {self.target}".rstrip()
        head = f"{head} after {', '.join(self.after)}" if self.after else head
        text = f"{head} ({self.detail})" if self.detail else head
        return f"{text} [undo: {self.undo}]" if self.undo else text

    def to_dict(self) -> dict:
        return {"action": self.action, "target": self.target, "detail": self.detail, "undo": self.undo or None,
                **({"after": list(self.after)} if self.after else {})}


@dataclass(frozen=True)
class Plan:
    """What a command would do now: `--dry-run` renders it, `--json` carries it."""

    command: str
    steps: tuple[Step, ...]

    def to_dict(self) -> dict:
        return {"command": self.command, "dry_run": True, "steps": [s.to_dict() for s in self.steps]}

    def text(self) -> list[str]:
        return [str(s) for s in self.steps]


@dataclass
class Timings:
    steps: list[tuple[str, float]] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.steps.append((name, seconds))


def follow(steps: list[Step], act: Callable[[Step], object], *, undo: Callable[[Step], None] | None = None,
           note: Callable[[str], None] = lambda _: None, timings: Timings | None = None,
           clock: Callable[[], float] = time.monotonic) -> Timings:
    """Take each step with `act`; on a failure, `undo` each step taken that says it has an undo,
    newest first (a failing undo is said and the rest still run), then re-raise."""
    timings = timings if timings is not None else Timings()
    done: list[Step] = []
    for step in steps:
        mark = clock()
        try:
            said = act(step)
        except BaseException:
            if undo is not None:
                for taken in reversed([s for s in done if s.undo] + ([step] if step.undo else [])):
                    try:
                        undo(taken)
                    except Exception as exc:  # noqa: BLE001  (said; the other undos still run)
                        note(f"undoing {taken.action} {taken.target} failed: {getattr(exc, 'message', exc)}")
            raise
        done.append(step)
        if said != KEPT:
            timings.add(f"{step.action} {step.target}".strip() if step.action in ("rollout", "recreate", "replace")
                        else step.action, clock() - mark)
    return timings


def run(steps: list[Step], handlers: dict[str, Callable[[Step], object]], **options) -> Timings:
    """`follow` with one handler per action, every action of the plan checked to have one before
    the first step runs (a plan no handler takes is a bug, found before anything is done)."""
    missing = sorted({s.action for s in steps} - set(handlers))
    if missing:
        raise RuntimeError(f"no handler for the plan's {', '.join(missing)}")
    return follow(steps, lambda step: handlers[step.action](step), **options)
