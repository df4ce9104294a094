"""artworks record where the neural engines ran (device, precision) and a poem's fallback

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older artworks: unknown device and precision (NULL), and no fallback recorded (false).
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("precision", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("poem_fallback", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_column("poem_fallback")
        batch_op.drop_column("precision")
        batch_op.drop_column("device")
