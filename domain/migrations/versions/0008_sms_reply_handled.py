"""smsmessage: replies for the office can be marked handled (when, by whom)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 20:30:00

Replies to office messages and to "on my way" older than a day count as handled: the plan
board pointed only at the last 24 hours' replies before this change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the templates whose replies only people answer, as they were named at this revision
FOR_THE_OFFICE = ("office_message", "visit_on_the_way")
BEFORE_TRACKING = "before tracking"


def upgrade() -> None:
    # plain ADD COLUMN (nullable): batch mode would copy the table, see 0005
    op.add_column("smsmessage", sa.Column("handled_at", domain.types.UTCDateTime(), nullable=True))
    op.add_column("smsmessage", sa.Column("handled_by", sa.String(length=200), nullable=True))
    op.create_index(
        "ix_smsmessage_template_handled_at", "smsmessage", ["template", "handled_at"], unique=False
    )
    sms = sa.table(
        "smsmessage",
        sa.column("direction", sa.String),
        sa.column("template", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("handled_at", sa.DateTime),
        sa.column("handled_by", sa.String),
    )
    # stored as naive UTC on both databases
    if op.get_bind().dialect.name == "sqlite":
        day_ago = sa.func.datetime("now", "-1 day")
    else:
        day_ago = sa.text("timezone('utc', now()) - INTERVAL '1 day'")
    op.execute(
        sms.update()
        .where(
            sms.c.direction == "inbound",
            sms.c.template.in_(FOR_THE_OFFICE),
            sms.c.created_at < day_ago,
        )
        .values(handled_at=sms.c.created_at, handled_by=BEFORE_TRACKING)
    )


def downgrade() -> None:
    op.drop_index("ix_smsmessage_template_handled_at", table_name="smsmessage")
    op.drop_column("smsmessage", "handled_by")
    op.drop_column("smsmessage", "handled_at")
