"""Township order (issue 17 item 6): each township's place in its county's official order (a county setting)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no batch copy of ``townships``, which ``schools`` refers to
    op.add_column("townships", sa.Column("position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("townships") as batch_op:
        batch_op.drop_column("position")
