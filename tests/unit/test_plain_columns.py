"""ps and status print aligned columns without rich: coloured only at a terminal (NO_COLOR,
FORCE_COLOR as rich honours them), and nothing read from elsewhere reaches the terminal as a
control sequence."""

from __future__ import annotations

from stackctl.cli.render import columns
from stackctl.console import Console


def test_columns_align_left_and_right_and_drop_trailing_blanks(capsys, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    rows = [("service", "uptime", "detail"), ("api", "5s", ""), ("database", "1h2m", "x")]
    Console().lines(columns(rows, right=(1,)))
    assert capsys.readouterr().out.splitlines() == [
        " service   uptime  detail",
        " api           5s",
        " database    1h2m  x",
    ]


def test_colour_only_where_asked_for(capsys, monkeypatch):
    line = columns([("api", "ready")], [(None, "green")])
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    Console().lines(line)  # captured output is not a terminal
    assert capsys.readouterr().out == " api  ready\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    Console().lines(line)
    assert capsys.readouterr().out == " api  \x1b[32mready\x1b[0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    Console().lines(line)
    assert capsys.readouterr().out == " api  ready\n"


def test_an_answer_with_escape_sequences_reaches_no_terminal_as_one(capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    Console().lines(columns([("web", "\x1b]0;owned\x07\x1b[2Jbody\r\n")], [(None, "red")]))
    assert capsys.readouterr().out == " web  \x1b[31m?]0;owned??[2Jbody??\x1b[0m\n"


def test_json_output_prints_no_lines(capsys):
    Console(json_output=True).lines(columns([("a", "b")]))
    assert capsys.readouterr().out == ""
