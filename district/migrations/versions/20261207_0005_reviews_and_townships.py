"""Per-report review (issue 18): report_reviews, one decision per row; users.township for the 学区 level
(township_admin)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import district.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("school_code", sa.String(length=10), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=80), nullable=False),
        sa.Column("at", district.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["report_revisions.id"], name=op.f("fk_report_reviews_revision_id_report_revisions")
        ),
        sa.ForeignKeyConstraint(["school_code"], ["schools.code"], name=op.f("fk_report_reviews_school_code_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_reviews")),
    )
    with op.batch_alter_table("report_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_reviews_revision_id"), ["revision_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_reviews_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_report_reviews_school_period", ["school_code", "period"], unique=False)
    # plain ALTER TABLE, never a batch copy of ``users`` (see 0004)
    op.add_column("users", sa.Column("township", sa.String(length=60), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "township")
    with op.batch_alter_table("report_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_report_reviews_school_period")
        batch_op.drop_index(batch_op.f("ix_report_reviews_county_code"))
        batch_op.drop_index(batch_op.f("ix_report_reviews_revision_id"))
    op.drop_table("report_reviews")
