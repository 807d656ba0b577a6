"""Reference data: a few named Berlin stops and a 200-stop grid around the centre.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAMED = [
    ("Alexanderplatz", 52.521918, 13.413215),
    ("Brandenburger Tor", 52.516275, 13.377704),
    ("Hauptbahnhof", 52.525084, 13.369402),
    ("Potsdamer Platz", 52.509648, 13.376041),
    ("Friedrichstrasse", 52.520180, 13.386870),
]


def upgrade() -> None:
    for name, lat, lon in NAMED:
        op.execute(
            "INSERT INTO stops (name, geom) VALUES "
            f"('{name}', ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography)"
        )
    op.execute(
        """
        INSERT INTO stops (name, geom)
        SELECT format('Grid %s-%s', n / 20, n % 20),
               ST_SetSRID(ST_MakePoint(13.385 + (n % 20) * 0.002, 52.505 + (n / 20) * 0.003), 4326)::geography
        FROM generate_series(0, 199) AS n
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM stops WHERE name LIKE 'Grid %' OR name IN ('Alexanderplatz', "
               "'Brandenburger Tor', 'Hauptbahnhof', 'Potsdamer Platz', 'Friedrichstrasse')")
