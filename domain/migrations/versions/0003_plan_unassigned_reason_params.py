"""plans: keep the facts of each unassigned visit's reason (to word it in the user's language)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("planunassigned", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planunassigned", schema=None) as batch_op:
        batch_op.drop_column("reason_params")
