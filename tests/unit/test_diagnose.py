from stackctl.health.diagnose import hint

HALF_INITIALISED = """\
2026-11-23 10:00:01.123 UTC [1] LOG:  starting PostgreSQL 15.18
2026-11-23 10:00:01.140 UTC [1] FATAL:  could not open file "global/pg_filenode.map": No such file or directory
2026-11-23 10:00:01.141 UTC [1] LOG:  database system is shut down
"""


def test_a_half_initialised_database_volume_is_named_with_the_way_out():
    advice = hint("database", HALF_INITIALISED)
    assert advice.startswith("its data volume was left half-initialised")
    assert "stackctl down --volumes --yes && stackctl up" in advice


def test_other_failures_and_other_roles_keep_the_generic_hint():
    assert hint("database", "FATAL:  password authentication failed for user \"x\"") is None
    assert hint("app", HALF_INITIALISED) is None
