"""Contacts and reminders (issue 18): school contacts (registry import), a county's reminder channels, and
every reminder delivery (reserved once a day per target, kind and channel) with each attempt

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import district.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no batch copy of ``schools``, which other tables refer to
    op.add_column("schools", sa.Column("contact_name", sa.String(length=50), nullable=True))
    op.add_column("schools", sa.Column("contact_phone", sa.String(length=30), nullable=True))
    op.add_column("schools", sa.Column("contact_email", sa.String(length=254), nullable=True))

    op.create_table(
        "reminder_channels",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("webhooks_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", district.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["counties.code"], name=op.f("fk_reminder_channels_county_code_counties")
        ),
        sa.PrimaryKeyConstraint("county_code", name=op.f("pk_reminder_channels")),
    )
    op.create_table(
        "reminder_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("target", sa.String(length=10), nullable=False),
        sa.Column("school_code", sa.String(length=10), nullable=True),
        sa.Column("township", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", district.db.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"], ["counties.code"], name=op.f("fk_reminder_deliveries_county_code_counties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_deliveries")),
        sa.UniqueConstraint("target", "kind", "channel", "day", name="uq_reminder_deliveries_once_a_day"),
    )
    op.create_index(
        "ix_reminder_deliveries_county_day", "reminder_deliveries", ["county_code", "day", "id"], unique=False
    )
    op.create_table(
        "reminder_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", district.db.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["reminder_deliveries.id"],
            name=op.f("fk_reminder_attempts_delivery_id_reminder_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_attempts")),
    )
    op.create_index("ix_reminder_attempts_county_at", "reminder_attempts", ["county_code", "at"], unique=False)
    op.create_index(op.f("ix_reminder_attempts_delivery_id"), "reminder_attempts", ["delivery_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reminder_attempts_delivery_id"), table_name="reminder_attempts")
    op.drop_index("ix_reminder_attempts_county_at", table_name="reminder_attempts")
    op.drop_table("reminder_attempts")
    op.drop_index("ix_reminder_deliveries_county_day", table_name="reminder_deliveries")
    op.drop_table("reminder_deliveries")
    op.drop_table("reminder_channels")
    op.drop_column("schools", "contact_email")
    op.drop_column("schools", "contact_phone")
    op.drop_column("schools", "contact_name")
