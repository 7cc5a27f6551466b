-- The contracts' balances by component against the GL control accounts (debit-positive).
with subledger as (
    select '1531' as account_code, sum(unbilled_principal) as subledger from {{ ref('int_contracts_balanced') }}
    union all select '1122.01', sum(billed_principal_unpaid) from {{ ref('int_contracts_balanced') }}
    union all select '1122.02', sum(billed_interest_unpaid) from {{ ref('int_contracts_balanced') }}
    union all select '1122.03', sum(billed_fee_unpaid) from {{ ref('int_contracts_balanced') }}
    union all select '1122.04', sum(penalty_unpaid) from {{ ref('int_contracts_balanced') }}
    union all select '2241.01', -sum(customer_credit) from {{ ref('int_contracts_balanced') }}
),
ledger as (
    select account_code, account_name, {{ minor_to_major('sum(debit_minor) - sum(credit_minor)') }} as ledger
    from {{ ref('int_journal_lines_accounted') }}
    group by all
)
select
    s.account_code,
    l.account_name,
    coalesce(s.subledger, 0) as subledger,
    coalesce(l.ledger, 0) as ledger,
    coalesce(l.ledger, 0) - coalesce(s.subledger, 0) as difference
from subledger s
left join ledger l on l.account_code = s.account_code
order by s.account_code
