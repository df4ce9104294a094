"""posts.state indexed: `status` counts and lists posts by state without scanning the table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (state, platform): the per-platform counts read the index alone, never the rows.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_state_platform", ["state", "platform"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_state_platform")
