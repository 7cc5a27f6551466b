"""bucket snapshots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 13:04:20.654160
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bucket_snapshot',
    sa.Column('snapshot_date', sa.Date(), nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bucket', sa.String(length=8), nullable=False),
    sa.Column('dpd', sa.Integer(), nullable=False),
    sa.Column('principal_outstanding_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_bucket_snapshot_contract_id_contract')),
    sa.PrimaryKeyConstraint('snapshot_date', 'contract_id', name=op.f('pk_bucket_snapshot'))
    )


def downgrade() -> None:
    op.drop_table('bucket_snapshot')
