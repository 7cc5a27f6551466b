select
    bank_code,
    reason_code,
    order_status,
    count(*) as debits,
    sum(amount) as amount
from {{ ref('int_debit_orders_answered') }}
where reason_code is not null
group by all
order by debits desc
