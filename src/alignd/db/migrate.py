"""Apply the Alembic migrations that ship inside the package."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import text

from alignd.config import Settings
from alignd.db.engine import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Arbitrary constant that names alignd's PostgreSQL advisory lock for schema upgrades.
_PG_LOCK_KEY = 7_401_150_321


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.resolved_database_url.replace("%", "%%"))
    return config


def upgrade_database(settings: Settings) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    engine = get_engine(settings)
    config = alembic_config(settings)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                connection.commit()
        return

    settings.home_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.home_dir / ".migrate.lock")):
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
