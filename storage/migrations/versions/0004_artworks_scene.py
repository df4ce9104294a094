"""artworks.scene: the painter's record of what it drew, where, and what it could not draw

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older artworks have no record: an empty object, which readers take as "not recorded".
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scene", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_column("scene")
