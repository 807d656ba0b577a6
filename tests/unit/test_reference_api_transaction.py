"""The reference API runs a transaction once more only when the server ended its connection
before the commit (a restore's swap ends the sessions of the paused API): never after an error at
the commit, never on a connection that is still open."""

import asyncio
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "images" / "backend"))
from app import stops  # noqa: E402


class Conn:
    def __init__(self, number: int):
        self.number, self.closed = number, False


class Pool:
    """Hands out numbered connections; `commit_fails` makes the commit of the first one raise."""

    def __init__(self, commit_fails: bool = False):
        self.handed, self.commits, self.commit_fails = [], [], commit_fails

    @asynccontextmanager
    async def connection(self):
        conn = Conn(len(self.handed) + 1)
        self.handed.append(conn)
        yield conn
        if self.commit_fails:
            conn.closed = True
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        self.commits.append(conn.number)


def run(pool, work):
    return asyncio.run(stops.in_transaction(pool, work))


def test_a_connection_the_server_ended_before_the_commit_runs_the_work_again_on_a_new_one():
    pool = Pool()

    async def work(conn):
        if conn.number == 1:
            conn.closed = True
            raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")
        return f"row from connection {conn.number}"

    assert run(pool, work) == "row from connection 2"
    assert pool.commits == [2]


def test_an_error_at_the_commit_is_raised_and_the_work_is_not_run_again():
    pool, ran = Pool(commit_fails=True), []

    async def work(conn):
        ran.append(conn.number)
        return 1

    with pytest.raises(psycopg.OperationalError):
        run(pool, work)
    assert ran == [1]


def test_an_error_on_a_connection_still_open_is_raised_and_not_run_again():
    pool, ran = Pool(), []

    async def work(conn):
        ran.append(conn.number)
        raise psycopg.OperationalError("canceling statement due to statement timeout")

    with pytest.raises(psycopg.OperationalError):
        run(pool, work)
    assert ran == [1]


def test_the_second_attempt_failing_the_same_way_is_raised():
    pool = Pool()

    async def work(conn):
        conn.closed = True
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    with pytest.raises(psycopg.OperationalError):
        run(pool, work)
    assert [c.number for c in pool.handed] == [1, 2]
