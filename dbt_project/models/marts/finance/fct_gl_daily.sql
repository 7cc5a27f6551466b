-- The general ledger by account and day.
select
    entry_date,
    account_code,
    account_name,
    account_type,
    count(*) as lines,
    sum(debit) as debit,
    sum(credit) as credit,
    sum(debit_minor) as debit_minor,
    sum(credit_minor) as credit_minor
from {{ ref('int_journal_lines_accounted') }}
group by all
order by entry_date, account_code
