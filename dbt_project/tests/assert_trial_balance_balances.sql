-- Debits equal credits over the whole ledger.
select sum(debit_minor) as debits, sum(credit_minor) as credits
from {{ ref('rpt_finance__trial_balance') }}
having sum(debit_minor) <> sum(credit_minor)
