-- Balances of every account over all postings; debits equal credits (tested).
select
    account_code,
    account_name,
    account_name_zh,
    account_type,
    sum(debit_minor) as debit_minor,
    sum(credit_minor) as credit_minor,
    {{ minor_to_major('greatest(sum(debit_minor) - sum(credit_minor), 0)') }} as debit_balance,
    {{ minor_to_major('greatest(sum(credit_minor) - sum(debit_minor), 0)') }} as credit_balance
from {{ ref('int_journal_lines_accounted') }}
group by all
order by account_code
