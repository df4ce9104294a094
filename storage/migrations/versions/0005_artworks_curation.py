"""artworks.curation: how the artwork was chosen (the poem's emotions, the mood weights)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older artworks have no record: an empty object.
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("curation", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_column("curation")
