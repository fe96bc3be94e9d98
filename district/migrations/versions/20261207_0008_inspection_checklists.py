"""Inspection checklists (issue 20 item 5): an inspection's items, a score that a checklist with no applicable
item leaves empty, and each finding as a hazard-ledger entry ``DC-<inspection>-<n>``

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a batch copy of ``inspections`` on SQLite (NOT NULL is dropped); nothing refers to the table before this
    with op.batch_alter_table("inspections") as batch_op:
        batch_op.alter_column("score", existing_type=sa.Numeric(precision=3, scale=1), nullable=True)
        batch_op.add_column(sa.Column("items", sa.JSON(), nullable=True))
    op.create_table(
        "inspection_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("school_code", sa.String(length=10), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_inspection_findings_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(
            ["school_code"], ["schools.code"], name=op.f("fk_inspection_findings_school_code_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_findings")),
        sa.UniqueConstraint("ref", name=op.f("uq_inspection_findings_ref")),
    )
    op.create_index(
        "ix_inspection_findings_county_period", "inspection_findings", ["county_code", "period"], unique=False
    )
    op.create_index(
        "ix_inspection_findings_school_period", "inspection_findings", ["school_code", "period"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inspection_findings_school_period", table_name="inspection_findings")
    op.drop_index("ix_inspection_findings_county_period", table_name="inspection_findings")
    op.drop_table("inspection_findings")
    # a visit without a score cannot go back to NOT NULL: those rows are removed with their checklists
    op.execute("DELETE FROM inspections WHERE score IS NULL")
    with op.batch_alter_table("inspections") as batch_op:
        batch_op.drop_column("items")
        batch_op.alter_column("score", existing_type=sa.Numeric(precision=3, scale=1), nullable=False)
