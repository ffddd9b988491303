"""Creating, checking and revoking API keys."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from alignd.auth.models import ApiKey, User
from alignd.auth.repository import AuthRepository
from alignd.errors import NotFound, Unauthorized
from alignd.ids import new_id
from alignd.timeutil import utcnow

KEY_PREFIX = "ak_"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    key_id: str
    user_id: str
    email: str
    raw_key: str


def create_key(session: Session, email: str, name: str = "default") -> CreatedKey:
    """Create the user if new, then a key for it. The raw key is returned once and never stored."""
    repo = AuthRepository(session)
    user = repo.get_user_by_email(email)
    if user is None:
        user = User(id=new_id("user"), email=email)
        repo.add(user)

    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"), user_id=user.id, name=name, key_hash=hash_key(raw_key), prefix=raw_key[:10]
    )
    repo.add(key)
    return CreatedKey(key_id=key.id, user_id=user.id, email=user.email, raw_key=raw_key)


def authenticate(session: Session, raw_key: str) -> User:
    repo = AuthRepository(session)
    key = repo.get_active_key_by_hash(hash_key(raw_key))
    if key is None:
        raise Unauthorized()
    user = repo.get_user(key.user_id)
    if user is None:
        raise Unauthorized()
    return user


def revoke_key(session: Session, key_id: str) -> ApiKey:
    repo = AuthRepository(session)
    key = repo.get_key(key_id)
    if key is None:
        raise NotFound(f"API key '{key_id}' not found.", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key
