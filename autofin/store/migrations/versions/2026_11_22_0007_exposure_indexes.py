"""exposure indexes: a partner's exposure summed from covering indexes

At 1M contracts each partner has thousands; the sum that every submit runs read them row by
row (1.6 ms per submit at 100k contracts, ten times that at 1M). With (partner_id, status,
financed_minor) it is read from the index alone (0.14 ms at 100k).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:20:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_contract_partner_exposure', 'contract', ['partner_id', 'status', 'financed_minor'])
    op.create_index('ix_application_partner_exposure', 'application', ['partner_id', 'status', 'financed_minor'])


def downgrade() -> None:
    op.drop_index('ix_application_partner_exposure', table_name='application')
    op.drop_index('ix_contract_partner_exposure', table_name='contract')
