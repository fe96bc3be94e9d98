"""Standard versions side by side (issue 20 item 1): a county may require ``houqin/monthly-report@2`` from a
period on (``counties.require_standard`` and ``counties.require_standard_from``; both unset: @1 or @2 accepted).

Existing reports, revisions and figures are untouched: a @1 report's figures keep their layout (reports.figures).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("counties") as batch_op:
        batch_op.add_column(sa.Column("require_standard", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("require_standard_from", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("counties") as batch_op:
        batch_op.drop_column("require_standard_from")
        batch_op.drop_column("require_standard")
