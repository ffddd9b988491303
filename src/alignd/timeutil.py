"""UTC timestamps. Every stored time is timezone-aware UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to a naive time read back from SQLite, which drops the offset."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
