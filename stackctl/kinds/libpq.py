"""libpq, PostgreSQL's own client library, called directly for the host probe's one query.

psycopg[binary] ships libpq beside itself (psycopg_binary.libs). psycopg's Python layer on top of
it (adapters, types, its error classes, asyncio) costs ~150 ms of CPU to import, and `status`
paid that on every call for one `SELECT 1`. The probe needs only libpq's connect, one query and
libpq's error text: those are the calls declared below. Everything that is protocol or
cryptography (SCRAM, md5, TLS, GSS, .pgpass, PG* environment) stays in libpq.

Importing this module loads the library (a few milliseconds), so `kinds.warm` can do it on a
thread while the engine is listed.
"""

from __future__ import annotations

import ctypes
import os

CONNECTION_OK = 0
PGRES_TUPLES_OK = 2
_FOUND_WHERE = "psycopg[binary]'s psycopg_binary.libs or the system's libpq (libpq5)"


class Refused(Exception):
    """The server or libpq refused: libpq's own message."""


def _bundled() -> str | None:
    """The libpq psycopg[binary] installed, found without importing psycopg."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("psycopg_binary")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    package = os.path.dirname(spec.origin)
    for folder in (os.path.join(os.path.dirname(package), "psycopg_binary.libs"), os.path.join(package, ".dylibs")):
        try:
            names = sorted(name for name in os.listdir(folder) if name.startswith("libpq"))
        except OSError:
            continue
        if names:
            return os.path.join(folder, names[0])
    return None


def _system() -> str | None:
    import ctypes.util

    return ctypes.util.find_library("pq")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    ptr, text, number = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures = {
        "PQconnectdbParams": ([ctypes.POINTER(text), ctypes.POINTER(text), number], ptr),
        "PQstatus": ([ptr], number),
        "PQerrorMessage": ([ptr], text),
        "PQserverVersion": ([ptr], number),
        "PQexec": ([ptr, text], ptr),
        "PQresultStatus": ([ptr], number),
        "PQresultErrorMessage": ([ptr], text),
        "PQntuples": ([ptr], number),
        "PQgetvalue": ([ptr, number, number], text),
        "PQclear": ([ptr], None),
        "PQfinish": ([ptr], None),
    }
    for name, (args, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = args, result
    return lib


def _load() -> tuple[ctypes.CDLL | None, str]:
    for path in (_bundled(), _system()):
        if path:
            try:
                return _declare(ctypes.CDLL(path)), ""
            except (OSError, AttributeError) as exc:
                return None, f"libpq at {path} could not be loaded ({exc})"
    return None, f"no libpq found ({_FOUND_WHERE}): reinstall stackctl with its dependencies"


LIB, MISSING = _load()


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace").strip()


def select_one(params: dict[str, str | int]) -> int:
    """Connect with libpq's connection keywords (host, port, user, password, dbname, ...), run
    `SELECT 1`, check it answered 1, and return the server's version number (150004 for 15.4).
    Raises Refused with libpq's message. The keywords are passed as values, never parsed as a
    connection string (a database named `host=elsewhere` is a name)."""
    if LIB is None:
        raise Refused(MISSING)
    pairs = [(key.encode(), str(value).encode()) for key, value in params.items() if value is not None]
    keywords = (ctypes.c_char_p * (len(pairs) + 1))(*[key for key, _ in pairs], None)
    values = (ctypes.c_char_p * (len(pairs) + 1))(*[value for _, value in pairs], None)
    conn = LIB.PQconnectdbParams(keywords, values, 0)
    if not conn:
        raise Refused("libpq could not allocate a connection")
    try:
        if LIB.PQstatus(conn) != CONNECTION_OK:
            raise Refused(_text(LIB.PQerrorMessage(conn)) or "connection failed")
        result = LIB.PQexec(conn, b"SELECT 1")
        try:
            if LIB.PQresultStatus(result) != PGRES_TUPLES_OK:
                raise Refused(_text(LIB.PQresultErrorMessage(result)) or _text(LIB.PQerrorMessage(conn)))
            answer = LIB.PQgetvalue(result, 0, 0) if LIB.PQntuples(result) == 1 else None
            if answer != b"1":
                raise Refused(f"SELECT 1 answered {answer!r}")
        finally:
            LIB.PQclear(result)
        return LIB.PQserverVersion(conn)
    finally:
        LIB.PQfinish(conn)
