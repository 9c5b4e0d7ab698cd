"""visit: how far from the customer's address the technician's phone placed the check-in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): batch mode would copy the table, see 0005
    op.add_column("visit", sa.Column("arrival_distance_m", sa.Integer(), nullable=True))
    op.add_column("visit", sa.Column("arrival_accuracy_m", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("visit", "arrival_accuracy_m")
    op.drop_column("visit", "arrival_distance_m")
