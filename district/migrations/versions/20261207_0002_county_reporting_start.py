"""counties.reporting_start (上线月份)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("counties") as batch:
        batch.add_column(sa.Column("reporting_start", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("counties") as batch:
        batch.drop_column("reporting_start")
