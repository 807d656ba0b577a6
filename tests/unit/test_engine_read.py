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
