"""visit: the arrival the technician announced to the customer ("on my way")

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): batch mode would copy the table, see 0005
    op.add_column("visit", sa.Column("expected_at", domain.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("visit", "expected_at")
