"""Queries on users and API keys."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignd.auth.models import ApiKey, User


class AuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_user_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email))

    def get_user(self, user_id: str) -> User | None:
        return self.session.get(User, user_id)

    def add(self, row: User | ApiKey) -> None:
        self.session.add(row)
        self.session.flush()

    def get_active_key_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )

    def get_key(self, key_id: str) -> ApiKey | None:
        return self.session.get(ApiKey, key_id)

    def list_keys(self) -> list[tuple[ApiKey, User]]:
        rows = self.session.execute(
            select(ApiKey, User).join(User, User.id == ApiKey.user_id).order_by(ApiKey.created_at)
        )
        return [(key, user) for key, user in rows]
