"""The county's 后勤行事历 as data (issue 20 item 2): calendar versions and their tasks, and on each revision the
version that judged its ``calendar.tasks`` (null: the calendar shipped with the hub, or a @1 report).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_calendar_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["counties.code"], name=op.f("fk_duty_calendar_versions_county_code_counties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_calendar_versions")),
        sa.UniqueConstraint("county_code", "version", name=op.f("uq_duty_calendar_versions_county_code")),
    )
    op.create_index(
        op.f("ix_duty_calendar_versions_county_code"), "duty_calendar_versions", ["county_code"], unique=False
    )
    op.create_table(
        "duty_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("months", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["duty_calendar_versions.id"], name=op.f("fk_duty_tasks_version_id_duty_calendar_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_tasks")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_duty_tasks_version_id")),
    )
    op.create_index(op.f("ix_duty_tasks_version_id"), "duty_tasks", ["version_id"], unique=False)
    # a plain nullable column: added in place on SQLite too (no copy of the revisions table)
    op.add_column("report_revisions", sa.Column("calendar_version_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_revisions") as batch_op:
        batch_op.drop_column("calendar_version_id")
    op.drop_index(op.f("ix_duty_tasks_version_id"), table_name="duty_tasks")
    op.drop_table("duty_tasks")
    op.drop_index(op.f("ix_duty_calendar_versions_county_code"), table_name="duty_calendar_versions")
    op.drop_table("duty_calendar_versions")
