"""What backup and restore will do, as data: pure functions of the stack's roles and what was
observed (which services use the data, whether the set holds Redis). `--dry-run` prints them;
unit tests compare them as text; backup.create and backup.restore follow them."""

from __future__ import annotations

from stackctl.steps import Step


def backup_steps(database: str, cache: str | None, verify: bool, apps: list[str]) -> list[Step]:
    steps = [Step("dump", database, "every database but the templates, each read back in full as it is written, "
                  "and the roles, into a hidden .partial folder", "delete the partial folder")]
    if cache:
        steps.append(Step("snapshot", cache, "a fresh snapshot copied out and checked", "delete the partial folder"))
    if apps:
        steps.append(Step("record", ", ".join(apps), "the images that wrote this data"))
    if verify:
        steps.append(Step("restore-test", database, "into a scratch server with no network; row counts compared",
                          "delete the partial folder"))
    return steps + [Step("seal", "the set", "manifest with checksums and a MAC by this host's backup key, then the "
                         "folder renamed: only now it counts"),
                    Step("prune", "old sets", "STACKCTL_BACKUP_KEEP_DAYS / STACKCTL_BACKUP_KEEP_COUNT")]


def restore_steps(backup_id: str, service: str, databases: list[str], kept: dict[str, str], roles: bool,
                  cache: str | None, users: list[str], with_cache: bool) -> list[Step]:
    """The restore of a set's databases (and its cache's snapshot when `with_cache`). The data it
    replaces is never dumped: each database is renamed aside (`kept`), the snapshot copied. The
    dumps go into new databases before anything stops: that is their full read, and the services
    are down only for the swap and the start."""
    listed = ", ".join(databases)
    steps = [Step("check", f"backup {backup_id}", "its MAC by this host's backup key, checksums, the server's "
                  "major version, the stack and environment it was made for")]
    if roles:
        steps.append(Step("roles", service, "the set's roles this server lacks, created in one transaction "
                          "(roles that exist are left as they are)", "drop the roles it created"))
    steps.append(Step("restore-into", listed, "each into a new database while the current ones still serve: read "
                      "in full, then its rows per table compared with the set's", "drop the new databases"))
    if users:
        steps.append(Step("stop", ", ".join(users), "nothing writes while the data changes: the writers paused "
                          "(their clients wait) when the restored schema is the one they run with, else (or --restart) all "
                          "stopped",
                          "resume or start them again (migrations not re-run)"))
    if with_cache and cache:
        steps.append(Step("copy-aside", cache, "a snapshot of it as it is now, copied beside the backups"))
    steps += [Step("swap", listed, "each new database takes its name; the current data is renamed "
                   + ", ".join(kept[d] for d in databases), "the names swapped back")]
    if with_cache and cache:
        steps.append(Step("put-snapshot", cache, "stop it, put the set's snapshot in place, start it",
                          "the snapshot copied aside put back"))
    return steps + [Step("start", "every service", "paused: resumed, their processes kept; stopped: migrations, "
                         "then each gated on health"),
                    Step("count", listed, "rows per table again once the services started: a table their start "
                         "changed is named (exit 3)"),
                    Step("keep", ", ".join(kept[d] for d in databases),
                         "the data this restore replaced stays until the next restore, which drops it")]
