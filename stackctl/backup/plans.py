"""What backup and restore will do, as data: pure functions of the stack's roles and what was
observed (which services use the data, whether the set holds Redis). `--dry-run` prints them;
unit tests compare them as text; backup.create and backup.restore follow them."""

from __future__ import annotations

from stackctl.steps import Step


def backup_steps(database: str, cache: str | None, verify: bool, apps: list[str]) -> list[Step]:
    steps = [Step("dump", database, "pg_dump -Fc into a hidden .partial folder, read back in full as it is written",
                  "delete the partial folder")]
    if cache:
        steps.append(Step("snapshot", cache, "BGSAVE, copy the RDB out, redis-check-rdb it",
                          "delete the partial folder"))
    if apps:
        steps.append(Step("record", ", ".join(apps), "the images that wrote this data"))
    if verify:
        steps.append(Step("restore-test", database, "into a scratch server with no network; row counts compared",
                          "delete the partial folder"))
    return steps + [Step("seal", "the set", "manifest with checksums, then the folder renamed: only now it counts"),
                    Step("prune", "old sets", "STACKCTL_BACKUP_KEEP_DAYS / STACKCTL_BACKUP_KEEP_COUNT")]


def restore_steps(backup_id: str, database: str, cache: str | None, users: list[str], with_redis: bool,
                  kept: str) -> list[Step]:
    """The restore of a set; `cache` is restored only when the set holds it and with_redis. The
    data it replaces is never dumped: the database is renamed aside (`kept`), Redis's RDB copied.
    The dump goes into its new database before anything stops: that is its full read, and the
    services are down only for the swap and the start."""
    fresh = f"{database}_restore_{backup_id.lower()}"
    steps = [Step("check", f"backup {backup_id}", "checksums, the server's major version"),
             Step("restore-into", fresh, "a new database, read in full while the current one still serves",
                  "drop it")]
    if users:
        steps.append(Step("stop", ", ".join(users), "nothing writes while the data changes",
                          "start them again (migrations not re-run)"))
    if with_redis and cache:
        steps.append(Step("copy-aside", cache, "BGSAVE, its RDB as it is now copied beside the backups"))
    steps += [Step("swap", database, f"{fresh} takes the name; the current data is renamed {kept}",
                   "the names swapped back")]
    if with_redis and cache:
        steps.append(Step("put-snapshot", cache, "stop it, put the set's RDB in place, start it",
                          "the RDB copied aside put back"))
    return steps + [Step("start", "every service", "migrations, then each gated on health"),
                    Step("keep", kept, "the data this restore replaced stays until the next restore, which drops it")]
