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


# Image repository names that are each kind, for `init`'s detection (no module import needed).
IMAGES = {"postgres": ("postgres", "postgis", "timescaledb"), "mariadb": ("mariadb", "mysql", "percona"),
          "redis": ("redis", "valkey", "keydb")}

