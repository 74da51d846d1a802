"""the product an SBOM document describes (a key's document is replaced only by one of the same product),
and whether its direct dependencies were inferred from a graph that never names its root

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sbom_documents") as batch:
        batch.add_column(sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("depth_inferred", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sbom_documents") as batch:
        batch.drop_column("depth_inferred")
        batch.drop_column("product")
