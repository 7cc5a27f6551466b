"""lease end: the buy-out at residual value and the title-transfer task it opens

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'title_transfer',
        sa.Column('title_transfer_id', BigId, autoincrement=True, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('vehicle_id', BigId, nullable=True),
        sa.Column('buy_out_minor', sa.BigInteger(), nullable=False),
        sa.Column('vat_minor', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('currency', sa.String(3), nullable=False, server_default='CNY'),
        sa.Column('reference', sa.String(64), nullable=False),
        sa.Column('bought_out_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(8), nullable=False, server_default='open'),
        sa.Column('registration_no', sa.String(64), nullable=True),
        sa.Column('transferred_date', sa.Date(), nullable=True),
        sa.Column('created_by', BigId, nullable=True),
        sa.Column('done_by', BigId, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_title_transfer_contract_id_contract')),
        sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.vehicle_id'], name=op.f('fk_title_transfer_vehicle_id_vehicle')),
        sa.ForeignKeyConstraint(['created_by'], ['app_user.user_id'], name=op.f('fk_title_transfer_created_by_app_user')),
        sa.ForeignKeyConstraint(['done_by'], ['app_user.user_id'], name=op.f('fk_title_transfer_done_by_app_user')),
        sa.PrimaryKeyConstraint('title_transfer_id', name=op.f('pk_title_transfer')),
        sa.UniqueConstraint('reference', name=op.f('uq_title_transfer_reference')),
        sa.UniqueConstraint('contract_id', name=op.f('uq_title_transfer_contract_id')),
    )
    op.create_index(op.f('ix_title_transfer_status'), 'title_transfer', ['status'])


def downgrade() -> None:
    op.drop_table('title_transfer')
