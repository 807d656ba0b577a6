"""Kinds of data service: what stackctl does with a database or cache server, one module per kind.

Each kind's module is the only place that names its tools (psql, pg_dump, redis-cli, ...): it
reads the server's credentials from its own container, probes it (from the host where it is
published, inside its container where not), opens its client, and, for databases, dumps, reads
back, restores into a new database, swaps and counts. Everything else asks the kind.

A new kind is a module here and one line in KINDS.
"""

from __future__ import annotations


DATABASES = ("postgres", "mariadb")
CACHES = ("redis",)
KNOWN = DATABASES + CACHES
_loaded: dict = {}


def kind(name: str):
    """The kind called `name` (postgres, redis, ...), its module imported on first use."""
    if name not in _loaded:
        if name == "postgres":
            from stackctl.kinds.postgres import Postgres as found
        elif name == "redis":
            from stackctl.kinds.redis import Redis as found
        elif name == "mariadb":
            from stackctl.kinds.mariadb import MariaDB as found
        else:
            raise KeyError(name)
        _loaded[name] = found()
    return _loaded[name]


def warm(names) -> None:
    """Start importing, on a thread of its own, the client library each named kind's host probe
    uses (psycopg, PyMySQL). A caller that lists containers before it probes (status, up) waits
    on the engine meanwhile, and the import (~150 ms for psycopg) runs in that wait instead of
    after it. Names that are not kinds (http) are skipped; an import that fails here fails again,
    and is said, where the probe imports it."""
    import sys
    import threading

    libraries = [kind(name).probe_library for name in dict.fromkeys(names) if name in KNOWN]
    for library in filter(None, libraries):
        if library not in sys.modules:  # a process that looks again (status --follow, watch) has it
            threading.Thread(target=_import_quietly, args=(library,), daemon=True, name=f"import {library}").start()


def _import_quietly(library: str) -> None:
    import importlib

    try:
        importlib.import_module(library)
    except Exception:  # the probe's own import says it
        pass


# Image repository names that are each kind, for `init`'s detection (no module import needed).
IMAGES = {"postgres": ("postgres", "postgis", "timescaledb"), "mariadb": ("mariadb", "mysql", "percona"),
          "redis": ("redis", "valkey", "keydb")}

