"""collections workbench and loss cycle: case work, contacts, promises, agencies, repossession,
collection costs, reminders, provisioning, non-accrual; the money event's single `amount`

A collection case was a row the nightly delinquency step opened and closed. It now has a stage,
a working status and category, a group and an assignee, and around it the contact log, promises
to pay, agency assignments with their daily recoveries, the repossession and disposal of the
vehicle, collection costs, the reminders sent, and the allowance each bucket needs. Money events
gain `amount_minor`, the one sum of an event without parts (a cost, a commission, an allowance
change, a recovery after write-off). Columns are added in place (SQLite cannot rebuild a table
that rows of others reference).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def money(name: str, nullable_default: bool = True) -> sa.Column:
    if nullable_default:
        return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
    return sa.Column(name, sa.BigInteger(), nullable=False)


def cur() -> sa.Column:
    return sa.Column('currency', sa.String(3), nullable=False, server_default='CNY')


def created() -> sa.Column:
    return sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def fk(column: str, table: str, target: str, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{table}.{target}'], name=op.f(f'fk_{source}_{column}_{table}'))


def upgrade() -> None:
    op.add_column('money_event', sa.Column('amount_minor', sa.BigInteger(), nullable=False, server_default='0'))
    # 非应计 (non-accrual): the frozen threshold and what each contract holds in suspense
    op.add_column('contract', sa.Column('non_accrual_dpd', sa.Integer(), nullable=False, server_default='90'))
    op.add_column('contract', sa.Column('suspended_interest_minor', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('contract', sa.Column('suspended_penalty_minor', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('subledger_balance', sa.Column('suspense_minor', sa.BigInteger(), nullable=False, server_default='0'))
    # 保证金: the deposit each contract holds
    op.add_column('contract', sa.Column('deposit_held_minor', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('subledger_balance', sa.Column('deposit_minor', sa.BigInteger(), nullable=False, server_default='0'))
    op.create_index('ix_contract_deposit_held', 'contract', ['maturity_date'], sqlite_where=sa.text("deposit_held_minor > 0"),
                    postgresql_where=sa.text("deposit_held_minor > 0"))
    op.create_index('ix_contract_suspense', 'contract', ['dpd'], sqlite_where=sa.text("suspended_interest_minor + suspended_penalty_minor > 0"),
                    postgresql_where=sa.text("suspended_interest_minor + suspended_penalty_minor > 0"))
    op.add_column('collection_case', sa.Column('close_reason', sa.String(16), nullable=True))
    op.add_column('collection_case', sa.Column('stage', sa.String(16), nullable=False, server_default='soft'))
    op.add_column('collection_case', sa.Column('collection_status', sa.String(16), nullable=False, server_default='new'))
    op.add_column('collection_case', sa.Column('category', sa.String(24), nullable=True))
    op.add_column('collection_case', sa.Column('group_code', sa.String(24), nullable=True))
    op.add_column('collection_case', sa.Column('assignee_user_id', BigId, nullable=True))
    op.add_column('collection_case', sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_collection_case_assignee_user_id'), 'collection_case', ['assignee_user_id'])
    op.execute("UPDATE collection_case SET close_reason = 'cured' WHERE status = 'closed'")

    op.create_table(
        'collection_contact',
        sa.Column('collection_contact_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('kind', sa.String(8), nullable=False),
        sa.Column('outcome', sa.String(8), nullable=False),
        sa.Column('party', sa.String(16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('agency_code', sa.String(16), nullable=True),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('created_by', BigId, nullable=False),
        created(),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'collection_contact'),
        fk('contract_id', 'contract', 'contract_id', 'collection_contact'),
        fk('created_by', 'app_user', 'user_id', 'collection_contact'),
        sa.PrimaryKeyConstraint('collection_contact_id', name=op.f('pk_collection_contact')),
    )
    op.create_index(op.f('ix_collection_contact_collection_case_id'), 'collection_contact', ['collection_case_id'])
    op.create_index(op.f('ix_collection_contact_business_date'), 'collection_contact', ['business_date'])

    op.create_table(
        'promise_to_pay',
        sa.Column('promise_to_pay_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        money('amount_minor', False),
        cur(),
        sa.Column('made_date', sa.Date(), nullable=False),
        sa.Column('promised_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(12), nullable=False, server_default='open'),
        money('paid_minor'),
        sa.Column('resolved_date', sa.Date(), nullable=True),
        sa.Column('created_by', BigId, nullable=False),
        created(),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'promise_to_pay'),
        fk('contract_id', 'contract', 'contract_id', 'promise_to_pay'),
        fk('created_by', 'app_user', 'user_id', 'promise_to_pay'),
        sa.PrimaryKeyConstraint('promise_to_pay_id', name=op.f('pk_promise_to_pay')),
    )
    op.create_index(op.f('ix_promise_to_pay_collection_case_id'), 'promise_to_pay', ['collection_case_id'])
    op.create_index('ix_promise_to_pay_open', 'promise_to_pay', ['promised_date'], sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))

    op.create_table(
        'case_outsourcing',
        sa.Column('case_outsourcing_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('agency_code', sa.String(16), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=False),
        sa.Column('commission_rate_ppm', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(8), nullable=False),
        sa.Column('ended_date', sa.Date(), nullable=True),
        money('recovered_minor'),
        money('commission_minor'),
        cur(),
        sa.Column('assigned_by', BigId, nullable=False),
        created(),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'case_outsourcing'),
        fk('contract_id', 'contract', 'contract_id', 'case_outsourcing'),
        fk('assigned_by', 'app_user', 'user_id', 'case_outsourcing'),
        sa.PrimaryKeyConstraint('case_outsourcing_id', name=op.f('pk_case_outsourcing')),
    )
    for column in ('collection_case_id', 'contract_id', 'agency_code', 'status'):
        op.create_index(op.f(f'ix_case_outsourcing_{column}'), 'case_outsourcing', [column])

    op.create_table(
        'agency_recovery',
        sa.Column('case_outsourcing_id', BigId, nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        money('recovered_minor', False),
        money('commission_minor', False),
        fk('case_outsourcing_id', 'case_outsourcing', 'case_outsourcing_id', 'agency_recovery'),
        sa.PrimaryKeyConstraint('case_outsourcing_id', 'business_date', name=op.f('pk_agency_recovery')),
    )

    op.create_table(
        'repossession',
        sa.Column('repossession_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('vehicle_id', BigId, nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('agent_code', sa.String(16), nullable=False),
        sa.Column('ordered_date', sa.Date(), nullable=False),
        sa.Column('repossessed_date', sa.Date(), nullable=True),
        sa.Column('storage_location', sa.String(200), nullable=True),
        sa.Column('valuation_minor', sa.BigInteger(), nullable=True),
        sa.Column('valued_date', sa.Date(), nullable=True),
        sa.Column('valuer', sa.String(200), nullable=True),
        sa.Column('sale_minor', sa.BigInteger(), nullable=True),
        sa.Column('sale_date', sa.Date(), nullable=True),
        sa.Column('buyer', sa.String(200), nullable=True),
        money('costs_recovered_minor'),
        sa.Column('receipt_id', BigId, nullable=True),
        cur(),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('ordered_by', BigId, nullable=False),
        created(),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'repossession'),
        fk('contract_id', 'contract', 'contract_id', 'repossession'),
        fk('vehicle_id', 'vehicle', 'vehicle_id', 'repossession'),
        fk('receipt_id', 'receipt', 'receipt_id', 'repossession'),
        fk('ordered_by', 'app_user', 'user_id', 'repossession'),
        sa.PrimaryKeyConstraint('repossession_id', name=op.f('pk_repossession')),
    )
    for column in ('collection_case_id', 'contract_id', 'vehicle_id', 'status'):
        op.create_index(op.f(f'ix_repossession_{column}'), 'repossession', [column])

    op.create_table(
        'litigation',
        sa.Column('litigation_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('court', sa.String(200), nullable=False),
        sa.Column('court_case_no', sa.String(64), nullable=True),
        money('claim_minor', False),
        cur(),
        sa.Column('filed_date', sa.Date(), nullable=False),
        sa.Column('hearing_date', sa.Date(), nullable=True),
        sa.Column('judgement_date', sa.Date(), nullable=True),
        sa.Column('awarded_minor', sa.BigInteger(), nullable=True),
        sa.Column('judgement_note', sa.Text(), nullable=True),
        sa.Column('closed_date', sa.Date(), nullable=True),
        sa.Column('close_result', sa.String(24), nullable=True),
        sa.Column('close_note', sa.Text(), nullable=True),
        sa.Column('filed_by', BigId, nullable=False),
        created(),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'litigation'),
        fk('contract_id', 'contract', 'contract_id', 'litigation'),
        fk('filed_by', 'app_user', 'user_id', 'litigation'),
        sa.PrimaryKeyConstraint('litigation_id', name=op.f('pk_litigation')),
    )
    for column in ('collection_case_id', 'contract_id', 'status'):
        op.create_index(op.f(f'ix_litigation_{column}'), 'litigation', [column])

    op.create_table(
        'field_visit',
        sa.Column('field_visit_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('visitor_user_id', BigId, nullable=False),
        sa.Column('address_note', sa.String(500), nullable=True),
        sa.Column('dispatched_date', sa.Date(), nullable=False),
        sa.Column('dispatched_by', BigId, nullable=False),
        sa.Column('reported_date', sa.Date(), nullable=True),
        sa.Column('outcome', sa.String(8), nullable=True),
        sa.Column('findings', sa.Text(), nullable=True),
        sa.Column('reviewed_by', BigId, nullable=True),
        sa.Column('review_comment', sa.Text(), nullable=True),
        sa.Column('reviewed_date', sa.Date(), nullable=True),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'field_visit'),
        fk('contract_id', 'contract', 'contract_id', 'field_visit'),
        fk('visitor_user_id', 'app_user', 'user_id', 'field_visit'),
        fk('dispatched_by', 'app_user', 'user_id', 'field_visit'),
        fk('reviewed_by', 'app_user', 'user_id', 'field_visit'),
        sa.PrimaryKeyConstraint('field_visit_id', name=op.f('pk_field_visit')),
    )
    for column in ('collection_case_id', 'status', 'visitor_user_id'):
        op.create_index(op.f(f'ix_field_visit_{column}'), 'field_visit', [column])

    op.create_table(
        'collection_cost',
        sa.Column('collection_cost_id', BigId, autoincrement=True, nullable=False),
        sa.Column('collection_case_id', BigId, nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('category', sa.String(16), nullable=False),
        sa.Column('payee', sa.String(200), nullable=False),
        money('amount_minor', False),
        money('recovered_minor'),
        cur(),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('post_lease_request_id', BigId, nullable=False),
        fk('collection_case_id', 'collection_case', 'collection_case_id', 'collection_cost'),
        fk('contract_id', 'contract', 'contract_id', 'collection_cost'),
        fk('post_lease_request_id', 'post_lease_request', 'post_lease_request_id', 'collection_cost'),
        sa.PrimaryKeyConstraint('collection_cost_id', name=op.f('pk_collection_cost')),
    )
    for column in ('collection_case_id', 'contract_id'):
        op.create_index(op.f(f'ix_collection_cost_{column}'), 'collection_cost', [column])

    op.create_table(
        'notification',
        sa.Column('notification_id', BigId, autoincrement=True, nullable=False),
        sa.Column('rule_code', sa.String(16), nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('channel', sa.String(8), nullable=False),
        sa.Column('recipient', sa.String(200), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('ref_date', sa.Date(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(8), nullable=False, server_default='queued'),
        sa.Column('provider_ref', sa.String(64), nullable=True),
        fk('contract_id', 'contract', 'contract_id', 'notification'),
        sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_notification')),
        sa.UniqueConstraint('rule_code', 'contract_id', 'ref_date', name=op.f('uq_notification_rule_code_contract_id_ref_date')),
    )
    op.create_index(op.f('ix_notification_contract_id'), 'notification', ['contract_id'])
    op.create_index(op.f('ix_notification_business_date'), 'notification', ['business_date'])

    op.add_column('reconciliation_break', sa.Column('resolution', sa.Text(), nullable=True))
    op.add_column('reconciliation_break', sa.Column('resolved_by', BigId, nullable=True))
    op.add_column('reconciliation_break', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'unidentified_receipt',
        sa.Column('unidentified_receipt_id', BigId, autoincrement=True, nullable=False),
        sa.Column('bank_code', sa.String(16), nullable=False),
        sa.Column('reference', sa.String(64), nullable=False),
        money('amount_minor', False),
        cur(),
        sa.Column('value_date', sa.Date(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('payer_name', sa.String(200), nullable=True),
        sa.Column('status', sa.String(8), nullable=False),
        sa.Column('reconciliation_break_id', BigId, nullable=True),
        sa.Column('contract_id', BigId, nullable=True),
        sa.Column('receipt_id', BigId, nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by', BigId, nullable=False),
        created(),
        fk('reconciliation_break_id', 'reconciliation_break', 'reconciliation_break_id', 'unidentified_receipt'),
        fk('contract_id', 'contract', 'contract_id', 'unidentified_receipt'),
        fk('receipt_id', 'receipt', 'receipt_id', 'unidentified_receipt'),
        fk('created_by', 'app_user', 'user_id', 'unidentified_receipt'),
        sa.PrimaryKeyConstraint('unidentified_receipt_id', name=op.f('pk_unidentified_receipt')),
        sa.UniqueConstraint('reference', name=op.f('uq_unidentified_receipt_reference')),
    )
    op.create_index(op.f('ix_unidentified_receipt_status'), 'unidentified_receipt', ['status'])

    op.create_table(
        'provision_run',
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('bucket', sa.String(8), nullable=False),
        sa.Column('contracts', sa.Integer(), nullable=False),
        money('exposure_minor', False),
        sa.Column('rate_ppm', sa.Integer(), nullable=False),
        money('required_minor', False),
        sa.PrimaryKeyConstraint('business_date', 'currency', 'bucket', name=op.f('pk_provision_run')),
    )


def downgrade() -> None:
    for table in ('provision_run', 'unidentified_receipt', 'notification', 'collection_cost', 'field_visit', 'litigation', 'repossession', 'agency_recovery', 'case_outsourcing',
                  'promise_to_pay', 'collection_contact'):
        op.drop_table(table)
    for column in ('resolved_at', 'resolved_by', 'resolution'):
        op.drop_column('reconciliation_break', column)
    op.drop_index(op.f('ix_collection_case_assignee_user_id'), table_name='collection_case')
    for column in ('assigned_at', 'assignee_user_id', 'group_code', 'category', 'collection_status', 'stage', 'close_reason'):
        op.drop_column('collection_case', column)
    op.drop_column('money_event', 'amount_minor')
    op.drop_index('ix_contract_suspense', table_name='contract')
    op.drop_column('subledger_balance', 'suspense_minor')
    op.drop_index('ix_contract_deposit_held', table_name='contract')
    op.drop_column('subledger_balance', 'deposit_minor')
    for column in ('deposit_held_minor', 'suspended_penalty_minor', 'suspended_interest_minor', 'non_accrual_dpd'):
        op.drop_column('contract', column)
