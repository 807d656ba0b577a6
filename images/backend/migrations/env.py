"""Alembic environment: connect from the API's own settings; one migrator at a time."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from app.config import Config

# Any fixed number: every concurrent `alembic upgrade` waits here, so only one applies.
MIGRATION_LOCK_ID = 7_274_201


def run_migrations_online() -> None:
    if context.config.config_file_name is not None:
        fileConfig(context.config.config_file_name)  # alembic.ini's loggers: say what is applied
    cfg = Config.from_env()
    url = URL.create(
        "postgresql+psycopg", username=cfg.db_user, password=cfg.db_password,
        host=cfg.db_host, port=cfg.db_port, database=cfg.db_name,
    )
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()


run_migrations_online()
