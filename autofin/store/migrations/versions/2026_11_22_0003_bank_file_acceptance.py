"""bank file acceptance

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:18:14.939169
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bank_file', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_bank_file_sha256'), type_='unique')
        batch_op.create_index(batch_op.f('ix_bank_file_sha256'), ['sha256'], unique=False)
        batch_op.create_index('uq_bank_file_message_accepted', ['bank_code', 'direction', 'file_type', 'message_id'], unique=True, sqlite_where=sa.text("status <> 'quarantined'"), postgresql_where=sa.text("status <> 'quarantined'"))
        batch_op.create_index('uq_bank_file_sha256_accepted', ['sha256'], unique=True, sqlite_where=sa.text("status <> 'quarantined'"), postgresql_where=sa.text("status <> 'quarantined'"))



def downgrade() -> None:
    with op.batch_alter_table('bank_file', schema=None) as batch_op:
        batch_op.drop_index('uq_bank_file_sha256_accepted', sqlite_where=sa.text("status <> 'quarantined'"), postgresql_where=sa.text("status <> 'quarantined'"))
        batch_op.drop_index('uq_bank_file_message_accepted', sqlite_where=sa.text("status <> 'quarantined'"), postgresql_where=sa.text("status <> 'quarantined'"))
        batch_op.drop_index(batch_op.f('ix_bank_file_sha256'))
        batch_op.create_unique_constraint(batch_op.f('uq_bank_file_sha256'), ['sha256'])

