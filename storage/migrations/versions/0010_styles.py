"""styles, training_runs and style_checkpoints: what `kavi style` prepared and trained

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "styles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "style_id",
            sa.Integer(),
            sa.ForeignKey("styles.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_step", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("steps_planned", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("processes", sa.Integer(), nullable=True),
        sa.Column("device", sa.String(32), nullable=True),
        sa.Column("precision", sa.String(16), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
    )
    op.create_table(
        "style_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "style_id",
            sa.Integer(),
            sa.ForeignKey("styles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("training_runs.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.UniqueConstraint("style_id", "backend", "step", name="uq_style_checkpoints_step"),
    )


def downgrade() -> None:
    op.drop_table("style_checkpoints")
    op.drop_table("training_runs")
    op.drop_table("styles")
