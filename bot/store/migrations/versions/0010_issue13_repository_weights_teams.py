"""repository weights and teams from GitHub (custom properties, topics, CODEOWNERS), and usage by team
per gap score

``repositories.weight`` becomes nullable: None means the gap model's ``usage.default_repo_weight``.
Rows holding the old column default (1.0, which nothing but the default wrote) are set to None, so
that setting takes effect.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repositories") as batch:
        batch.alter_column("weight", existing_type=sa.Float(), nullable=True)
        batch.add_column(sa.Column("weight_rule", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("team_source", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("codeowners_team", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("codeowners_pushed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE repositories SET weight = NULL WHERE weight = 1.0")
    with op.batch_alter_table("gap_scores") as batch:
        batch.add_column(sa.Column("usage_by_team", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("gap_scores") as batch:
        batch.drop_column("usage_by_team")
    op.execute("UPDATE repositories SET weight = 1.0 WHERE weight IS NULL")
    with op.batch_alter_table("repositories") as batch:
        batch.drop_column("codeowners_pushed_at")
        batch.drop_column("codeowners_team")
        batch.drop_column("team_source")
        batch.drop_column("weight_rule")
        batch.alter_column("weight", existing_type=sa.Float(), nullable=False)
