"""status --follow's history: values as blocks, scaled, a missing look as a gap."""

from types import SimpleNamespace

from stackctl.cli.sparkline import History, spark


def test_values_scale_to_the_ceiling_and_gaps_stay_gaps():
    assert spark([0, 50, 100], ceiling=100) == "▁▅█"
    assert spark([1, None, 4]) == "▃ █"
    assert spark([]) == "" and spark([0, 0]) == "▁▁"


def test_history_keeps_the_last_looks_of_each_service():
    history = History(kept=3)
    for cpu, memory in ((10.0, 100), (None, 200), (90.0, 400), (100.0, 400)):
        history.add(SimpleNamespace(services=[SimpleNamespace(name="app", cpu_percent=cpu, memory_bytes=memory)]))
    assert history.cpu_line("app") == " ▇█" and history.memory_line("app") == "▅██"
    assert history.cpu_line("gone") == ""
