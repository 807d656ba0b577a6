"""Engine.read: a read's answer is whole or an error, never an empty answer the engine cut short."""

import pytest

from stackctl.containers import ExecResult
from stackctl.engine import END_OF_OUTPUT, READ_ATTEMPTS, Engine
from stackctl.errors import StackError


def engine_answering(*answers: ExecResult) -> tuple[Engine, list[list[str]]]:
    """An Engine whose exec gives these answers in turn (no engine behind it)."""
    engine, ran, queue = Engine.__new__(Engine), [], list(answers)

    def exec(container, cmd, env=None, user=None):
        ran.append(cmd)
        return queue.pop(0)

    engine.exec = exec
    return engine, ran


def whole(out: str, code: int = 0, err: str = "") -> ExecResult:
    return ExecResult(code, f"{out}\n{END_OF_OUTPUT} {code}\n", err)


def test_the_answer_comes_back_exactly_as_the_command_wrote_it():
    engine, ran = engine_answering(whole("public.items|false\npublic.sessions|false\n"))
    assert engine.read("c", ["psql", "-c", "SELECT 1"]) == ExecResult(0, "public.items|false\npublic.sessions|false\n", "")
    assert ran[0][:2] == ["sh", "-c"] and ran[0][-3:] == ["psql", "-c", "SELECT 1"] and END_OF_OUTPUT in ran[0][2]


def test_an_empty_answer_is_an_empty_answer_only_when_its_end_came():
    engine, ran = engine_answering(ExecResult(0, "", ""), whole(""))
    assert engine.read("c", ["psql"]).stdout == ""
    assert len(ran) == 2  # the first, cut short (no end line), ran again


def test_an_answer_cut_short_every_time_is_an_error_not_no_rows():
    engine, ran = engine_answering(*[ExecResult(0, "public.it", "")] * READ_ATTEMPTS)
    with pytest.raises(StackError, match="cut short the output of psql"):
        engine.read("c", ["psql"])
    assert len(ran) == READ_ATTEMPTS


def test_a_failing_command_keeps_its_exit_code_and_stderr():
    engine, _ = engine_answering(whole("", 2, "psql: error: connection refused"))
    assert engine.read("c", ["psql"]) == ExecResult(2, "", "psql: error: connection refused")


def test_an_end_line_with_another_exit_code_is_not_the_end():
    engine, ran = engine_answering(ExecResult(1, f"x\n{END_OF_OUTPUT} 0\n", ""), whole("x"))
    assert engine.read("c", ["psql"]).stdout == "x"
    assert len(ran) == 2


def test_a_container_without_sh_gets_the_bare_command():
    engine, ran = engine_answering(ExecResult(127, "OCI runtime exec failed: exec: \"sh\": not found", ""),
                                   ExecResult(0, "0: 00000000:1F90", ""))
    assert engine.read("c", ["cat", "/proc/net/tcp"]).stdout == "0: 00000000:1F90"
    assert ran[1] == ["cat", "/proc/net/tcp"]


def engine_running_here(runs: list) -> Engine:
    """An Engine whose exec runs the command on this machine's sh (a container's sh stands in)."""
    import subprocess

    engine = Engine.__new__(Engine)

    def exec(container, cmd, env=None, user=None):
        runs.append(cmd)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        return ExecResult(done.returncode, done.stdout, done.stderr)

    engine.exec = exec
    return engine


def test_a_probe_that_waits_runs_inside_until_it_passes_in_one_exec(tmp_path):
    import subprocess
    import time

    runs, flag = [], tmp_path / "ready"
    subprocess.Popen(["sh", "-c", f"sleep 0.4; touch {flag}"])
    started = time.monotonic()
    probe = ["sh", "-c", f'[ -f {flag} ] && echo 1 || {{ echo "not yet"; exit 2; }}']
    result = engine_running_here(runs).exec_until("c", probe, within=5)
    assert result.exit_code == 0 and result.stdout.strip() == "1"
    assert 0.4 <= time.monotonic() - started < 2 and len(runs) == 1  # passed soon after, one exec


def test_a_probe_that_waits_stops_on_an_answer_that_will_not_change_and_at_its_time():
    import time

    runs = []
    engine = engine_running_here(runs)
    started = time.monotonic()
    refused = engine.exec_until("c", ["sh", "-c", "echo 'FATAL: password authentication failed'; exit 2"], within=5,
                                give_up_on=("password authentication failed",))
    assert refused.exit_code == 2 and "password authentication failed" in refused.stdout
    assert time.monotonic() - started < 1
    started = time.monotonic()
    never = engine.exec_until("c", ["sh", "-c", "echo 'not yet'; exit 2"], within=1)
    assert never.exit_code == 2 and never.stdout.strip() == "not yet" and time.monotonic() - started < 2.5
    assert len(runs) == 2
    assert engine.exec_until("c", ["sh", "-c", "exit 3"]).exit_code == 3 and runs[-1] == ["sh", "-c", "exit 3"]


def test_a_waiting_probe_without_a_shell_in_the_image_runs_once_as_it_is():
    engine, ran = engine_answering(ExecResult(127, "", "exec: \"sh\": executable file not found in $PATH"),
                                   ExecResult(0, "PONG\n", ""))
    assert engine.exec_until("c", ["redis-cli", "PING"], within=2) == ExecResult(0, "PONG\n", "")
    assert ran[0][:2] == ["sh", "-c"] and ran[1] == ["redis-cli", "PING"]
