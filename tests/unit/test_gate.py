import threading

from stackctl.health.gate import Observation, Outcome, wait_ready


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def sequence(*observations):
    items = list(observations)
    return lambda: items.pop(0) if len(items) > 1 else items[0]


def test_ready_after_pending_with_backoff_starting_tight():
    clock = FakeClock()
    result = wait_ready(sequence(Observation.pending("refused"), Observation.pending("refused"),
                                 Observation.ready("ok")), 10, clock=clock, sleep=clock.sleep)
    assert result.outcome is Outcome.READY and result.attempts == 3
    assert clock.sleeps == [0.02, 0.03]


def test_interval_is_capped_well_below_a_second():
    clock = FakeClock()
    wait_ready(lambda: Observation.pending(), 5, clock=clock, sleep=clock.sleep)
    assert max(clock.sleeps) == 0.2


def test_deadline_gives_timeout_with_last_detail_and_does_not_overshoot():
    clock = FakeClock()
    result = wait_ready(lambda: Observation.pending("HTTP 503"), 3, clock=clock, sleep=clock.sleep)
    assert result.outcome is Outcome.TIMEOUT and result.detail == "HTTP 503"
    assert 3.0 <= result.elapsed <= 3.0 + 1e-9


def test_failed_is_terminal_at_once():
    clock = FakeClock()
    result = wait_ready(sequence(Observation.pending(), Observation.failed("exited with code 1")), 60,
                        clock=clock, sleep=clock.sleep)
    assert result.outcome is Outcome.FAILED and result.detail == "exited with code 1"
    assert clock.now < 0.1


def test_cancel_stops_waiting():
    cancel = threading.Event()
    clock = FakeClock()

    def observe():
        cancel.set()
        return Observation.pending()

    assert wait_ready(observe, 60, clock=clock, sleep=clock.sleep, cancel=cancel).outcome is Outcome.CANCELLED
