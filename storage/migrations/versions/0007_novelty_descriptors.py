"""near-duplicate descriptors: artworks.image_phash and the poem_keys shingle index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older artworks have no descriptors (NULL, no keys): the check compares with those it has.
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_phash", sa.BigInteger(), nullable=True))
        # Covering (id is the rowid): the check reads hashes from the index, not the rows.
        batch_op.create_index("ix_artworks_image_phash", ["image_phash"], unique=False)
    op.create_table(
        "poem_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["artwork_id"], ["artworks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "artwork_id"),
    )


def downgrade() -> None:
    op.drop_table("poem_keys")
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_index("ix_artworks_image_phash")
        batch_op.drop_column("image_phash")
