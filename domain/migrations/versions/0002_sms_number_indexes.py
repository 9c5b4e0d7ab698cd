"""sms: index SmsMessage numbers (conversation lookup by number, simulator, opt-out)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("smsmessage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_smsmessage_to_number_id"), ["to_number", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_smsmessage_from_number"), ["from_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("smsmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_smsmessage_from_number"))
        batch_op.drop_index(batch_op.f("ix_smsmessage_to_number_id"))
