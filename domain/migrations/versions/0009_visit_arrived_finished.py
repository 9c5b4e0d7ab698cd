"""visit: when the technician arrived (check-in) and when the visit was reported

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): batch mode would copy the table, see 0005
    op.add_column("visit", sa.Column("arrived_at", domain.types.UTCDateTime(), nullable=True))
    op.add_column("visit", sa.Column("finished_at", domain.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("visit", "finished_at")
    op.drop_column("visit", "arrived_at")
