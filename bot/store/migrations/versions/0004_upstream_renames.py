"""upstream renames

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_renames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("new_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_upstream_renames_old_key"), "upstream_renames", ["old_key"], unique=True)
    op.create_index(op.f("ix_upstream_renames_new_key"), "upstream_renames", ["new_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_upstream_renames_new_key"), table_name="upstream_renames")
    op.drop_index(op.f("ix_upstream_renames_old_key"), table_name="upstream_renames")
    op.drop_table("upstream_renames")
