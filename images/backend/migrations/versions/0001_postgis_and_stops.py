"""PostGIS and the stops table with a spatial index.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        """
        CREATE TABLE stops (
            id         bigserial PRIMARY KEY,
            name       text NOT NULL,
            geom       geography(Point, 4326) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX stops_geom_gist ON stops USING GIST (geom)")


def downgrade() -> None:
    op.execute("DROP TABLE stops")
