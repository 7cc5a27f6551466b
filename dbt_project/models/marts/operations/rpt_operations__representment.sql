-- Results by attempt: how re-presented debits fare against first presentations.
select
    attempt,
    count(*) filter (where is_answered) as answered,
    count(*) filter (where order_status = 'settled') as collected,
    cast(count(*) filter (where order_status = 'settled') * 1.0 / nullif(count(*) filter (where is_answered), 0) as decimal(9, 4)) as success_rate
from {{ ref('int_debit_orders_answered') }}
group by attempt
order by attempt
