"""Wait until something is ready, with a deadline; the clock and sleep are injectable."""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass
from typing import Callable


class State(enum.Enum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"  # terminal: waiting longer will not help (container exited, auth refused)


# What a readiness verdict rests on: sql, ping, http <path>, healthcheck, listening <port>,
# exited 0 (a one-shot), or none (running, and nothing to observe: not ready, running).
NO_EVIDENCE = "none"


@dataclass(frozen=True)
class Observation:
    state: State
    detail: str = ""
    evidence: str = ""  # set on READY: what was observed

    @classmethod
    def pending(cls, detail: str = "") -> "Observation":
        return cls(State.PENDING, detail)

    @classmethod
    def ready(cls, detail: str = "", evidence: str = NO_EVIDENCE) -> "Observation":
        return cls(State.READY, detail, evidence)

    @property
    def proven(self) -> bool:
        """Ready on evidence (not just running)."""
        return self.state is State.READY and self.evidence != NO_EVIDENCE

    @classmethod
    def failed(cls, detail: str) -> "Observation":
        return cls(State.FAILED, detail)


class Outcome(enum.Enum):
    READY = "ready"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class GateResult:
    outcome: Outcome
    elapsed: float
    detail: str = ""
    attempts: int = 0
    evidence: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.READY


# Tight at first (services often come up within a second), backing off to a ceiling that
# still finishes well within one healthcheck interval of true readiness.
FIRST_INTERVAL = 0.02
MAX_INTERVAL = 0.2
BACKOFF = 1.5


def wait_ready(
    observe: Callable[[], Observation],
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    cancel: threading.Event | None = None,
    on_observation: Callable[[Observation, float], None] | None = None,
    first_interval: float = FIRST_INTERVAL,
    max_interval: float = MAX_INTERVAL,
) -> GateResult:
    start = clock()
    interval = first_interval
    attempts = 0
    last = Observation.pending("not observed yet")
    while True:
        if cancel is not None and cancel.is_set():
            return GateResult(Outcome.CANCELLED, clock() - start, last.detail, attempts)
        last = observe()
        attempts += 1
        elapsed = clock() - start
        if on_observation is not None:
            on_observation(last, elapsed)
        if last.state is State.READY:
            return GateResult(Outcome.READY, elapsed, last.detail, attempts, last.evidence)
        if last.state is State.FAILED:
            return GateResult(Outcome.FAILED, elapsed, last.detail, attempts)
        remaining = timeout - elapsed
        if remaining <= 0:
            return GateResult(Outcome.TIMEOUT, elapsed, last.detail, attempts)
        sleep(min(interval, remaining))
        interval = min(interval * BACKOFF, max_interval)
