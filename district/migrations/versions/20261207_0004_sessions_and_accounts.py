"""Sessions and accounts (issue 16): a session generation and disabling per user, token expiry, and the
sign-in lockout counted per username and address (login_failures) instead of on the user row

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 13:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import district.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tokens issued before expiry existed expire this long after they were made (HOUQIN_TOKEN_DAYS' default).
TOKEN_DAYS = 180


def upgrade() -> None:
    # plain ALTER TABLE, never a batch copy of ``users``: on SQLite (foreign keys on) dropping the old table of
    # a copy fails while api_tokens refer to it. DROP COLUMN needs SQLite 3.35 (Debian 12 has 3.40).
    op.add_column("users", sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("disabled_at", district.db.UTCDateTime(), nullable=True))
    op.drop_column("users", "failed_logins")
    op.drop_column("users", "locked_until")

    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", district.db.UTCDateTime(), nullable=True))
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("created_at", district.db.UTCDateTime()),
        sa.column("expires_at", district.db.UTCDateTime()),
    )
    conn = op.get_bind()
    for token_id, created_at in conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        conn.execute(
            tokens.update().where(tokens.c.id == token_id).values(expires_at=created_at + dt.timedelta(days=TOKEN_DAYS))
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=district.db.UTCDateTime(), nullable=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", district.db.UTCDateTime(), nullable=False),
        sa.Column("locked_until", district.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
        sa.UniqueConstraint("username", "address", name=op.f("uq_login_failures_username")),
    )
    with op.batch_alter_table("login_failures") as batch:
        batch.create_index(batch.f("ix_login_failures_window_start"), ["window_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_index(batch.f("ix_login_failures_window_start"))
    op.drop_table("login_failures")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("locked_until", district.db.UTCDateTime(), nullable=True))
    op.drop_column("users", "disabled_at")
    op.drop_column("users", "session_generation")
