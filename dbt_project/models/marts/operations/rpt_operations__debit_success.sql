-- Direct debits per bank and business date: sent, collected, rejected and returned, by reason.
select
    bank_code,
    business_date,
    count(*) as debits,
    count(*) filter (where is_answered) as answered,
    count(*) filter (where order_status = 'settled') as collected,
    count(*) filter (where order_status = 'rejected') as rejected,
    count(*) filter (where order_status = 'returned') as returned,
    count(*) filter (where reason_code = 'AM04') as insufficient_funds,
    sum(amount) filter (where order_status = 'settled') as collected_amount,
    cast(count(*) filter (where order_status = 'settled') * 1.0 / nullif(count(*) filter (where is_answered), 0) as decimal(9, 4)) as success_rate
from {{ ref('int_debit_orders_answered') }}
where bank_code is not null
group by all
order by business_date, bank_code
