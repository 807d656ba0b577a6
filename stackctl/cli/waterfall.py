"""The start-up as a picture: each service's waiting, starting and end on one time axis.

    start-up  0s                      2.3s                     4.6s
    db        ━━━━━━━━━━━━━━━━━━━━●                            ready 2.1s  sql
    migrate   ·····················━━━━━━━━●                   done 1.0s  exited 0

`·` waiting for what it needs, `━` starting until its evidence, `●` ready or done (`✗` failed).
Pure: lines of (text, style) pieces, drawn by the caller (stackctl.cli.render).
"""

from __future__ import annotations

WAIT, START, READY, FAILED = "·", "━", "●", "✗"
NAME_WIDTH = 12
MAX_WIDTH = 100
ENDED_WELL = ("ready", "running")


def _column(seconds: float, total: float, columns: int) -> int:
    return min(columns - 1, max(0, round(seconds / total * (columns - 1)))) if total > 0 else 0


def lines(outcomes, total: float, width: int) -> list[list[tuple[str, str]]]:
    """One line per service that started in this run (kept ones have no timeline), under an axis."""
    timed = [o for o in outcomes if o.timeline is not None and o.timeline[2] is not None]
    if not timed:
        return []
    name_width = max(len("start-up") + 2, min(NAME_WIDTH, max(len(o.service) for o in timed) + 2))
    label_width = 30
    columns = max(10, min(width, MAX_WIDTH) - name_width - label_width)
    total = max(total, max(o.timeline[2] for o in timed))
    axis = [" "] * columns
    for seconds in (0.0, total / 2, total):
        text = f"{seconds:.1f}s" if seconds else "0s"
        at = min(_column(seconds, total, columns), columns - len(text))
        axis[at:at + len(text)] = list(text)
    drawn = [[("start-up".ljust(name_width), "bold"), ("".join(axis), "dim")]]
    for o in timed:
        waiting, starting, ended = o.timeline
        first = _column(waiting or 0.0, total, columns)
        begin = _column(starting if starting is not None else ended, total, columns)
        end = _column(ended, total, columns)
        well = o.outcome in ENDED_WELL
        word = "done" if o.outcome == "ready" and o.evidence == "exited 0" else o.outcome
        took = ended - (starting if starting is not None else ended)  # what the bar shows: its start to its end
        label = f"  {word} {took:.1f}s" + (f"  {o.evidence}" if o.evidence and o.evidence != "none" else "")
        drawn.append([(o.service[:name_width - 1].ljust(name_width), ""), (" " * first, ""),
                      (WAIT * (begin - first), "dim"), (START * max(0, end - begin), "yellow"),
                      (READY if well else FAILED, "green" if well else "red"),
                      (" " * (columns - end - 1), ""), (label, "green" if well else "red")])
    return drawn
