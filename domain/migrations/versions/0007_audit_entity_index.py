"""auditentry: index (entity, entity_id) (a record's history of changes)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_auditentry_entity_entity_id", "auditentry", ["entity", "entity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_auditentry_entity_entity_id", table_name="auditentry")
