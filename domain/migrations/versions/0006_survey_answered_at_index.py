"""surveyanswer: index answered_at (the satisfaction report reads the answers of a period)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # in place (no batch mode): SQLite's batch copy would trip over the sales' foreign keys
    op.create_index(
        op.f("ix_surveyanswer_answered_at"), "surveyanswer", ["answered_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_surveyanswer_answered_at"), table_name="surveyanswer")
