"""products: an English name for English-speaking customers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+): batch mode would copy the table and drop the old one,
    # which the sales' foreign keys refuse once there are sales
    op.drop_column("product", "name_en")
