"""API tokens of ``promptwork serve``: created once, kept only as a sha256 hash, revocable.

A token is ``pw_`` plus 43 random URL-safe characters (256 bits): shown once when created and
never stored; the store keeps its sha256 (a slow hash adds nothing to a random 256-bit key), its
first characters (to recognise it in a list) and its scope. Scopes nest: ``read`` (list, search,
get, render) < ``run`` (also run prompts and start evaluations) < ``admin`` (everything).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.engine import Engine

from promptwork.errors import ConfigError
from promptwork.store import schema

__all__ = ["SCOPES", "TokenInfo", "create_token", "find_token", "list_tokens", "revoke_token",
           "scope_allows", "token_hash"]

#: Scopes from least to most allowed.
SCOPES = ("read", "run", "admin")
PREFIX = "pw_"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A stored token (never its text)."""

    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def token_hash(text: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(text.encode()).hexdigest()


def scope_allows(have: str, need: str) -> bool:
    """Whether a token of scope ``have`` may do what needs ``need``."""
    return SCOPES.index(have) >= SCOPES.index(need)


def create_token(engine: Engine, scope: str, name: str | None = None) -> tuple[TokenInfo, str]:
    """Create a token; returns its record and its text (shown once, not stored).

    Raises:
        ConfigError: An unknown scope.
    """
    if scope not in SCOPES:
        raise ConfigError(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
    text = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        result = conn.execute(insert(schema.api_tokens).values(
            name=name or f"{scope}-token", scope=scope, token_hash=token_hash(text),
            prefix=text[:10], created_at=now))
        key = result.inserted_primary_key
        token_id = int(key[0]) if key else 0
    return TokenInfo(token_id, name or f"{scope}-token", scope, text[:10], now, None), text


def _info(row: object) -> TokenInfo:
    m = row._mapping  # type: ignore[attr-defined]
    return TokenInfo(int(m["id"]), m["name"], m["scope"], m["prefix"], m["created_at"],
                     m["revoked_at"])


_COLUMNS = (schema.api_tokens.c.id, schema.api_tokens.c.name, schema.api_tokens.c.scope,
            schema.api_tokens.c.prefix, schema.api_tokens.c.created_at,
            schema.api_tokens.c.revoked_at)


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, oldest first (revoked ones included)."""
    with engine.connect() as conn:
        rows = conn.execute(select(*_COLUMNS).order_by(schema.api_tokens.c.id)).all()
    return [_info(r) for r in rows]


#: Prepared once: every API request looks its token up.
_FIND = select(*_COLUMNS).where(schema.api_tokens.c.token_hash == bindparam("h"))


def find_token(bind: Engine | Connection, text: str) -> TokenInfo | None:
    """The token whose text is ``text`` (revoked or not), or None.

    Args:
        bind: The store's engine, or an open connection (a server's, kept for lookups: its
            transaction is ended after the read, so the next read sees new commits).
    """
    if isinstance(bind, Connection):
        try:
            row = bind.execute(_FIND, {"h": token_hash(text)}).first()
        finally:
            bind.rollback()
    else:
        with bind.connect() as conn:
            row = conn.execute(_FIND, {"h": token_hash(text)}).first()
    return None if row is None else _info(row)


def revoke_token(engine: Engine, ref: str) -> TokenInfo:
    """Revoke the token with id, name or prefix ``ref``.

    Raises:
        ConfigError: No such token, or ``ref`` names several.
    """
    t = schema.api_tokens
    found = [tok for tok in list_tokens(engine)
             if ref in (str(tok.id), tok.name, tok.prefix) and tok.active]
    if not found:
        raise ConfigError(f"no active token {ref!r} (see: promptwork tokens list)")
    if len(found) > 1:
        raise ConfigError(f"{ref!r} names {len(found)} tokens; give the id")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == found[0].id).values(revoked_at=now))
    tok = found[0]
    return TokenInfo(tok.id, tok.name, tok.scope, tok.prefix, tok.created_at, now)
