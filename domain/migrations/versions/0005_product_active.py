"""products: retired products (no longer sold) stay for their sales

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (SQLite supports it with a default): batch mode would copy the table
    # and drop the old one, which the sales' foreign keys refuse once there are sales
    op.add_column(
        "product", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
    )


def downgrade() -> None:
    op.drop_column("product", "active")  # plain DROP COLUMN, as upgrade() explains
