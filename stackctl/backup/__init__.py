"""Backups of Postgres and Redis: sets with a manifest, verification, retention, restore."""
