-- Debit orders with their bank and what the bank said.
select
    o.*,
    b.bank_code,
    b.message_id,
    o.order_status in ('settled', 'rejected', 'returned') as is_answered,
    o.order_status = 'settled' as is_collected
from {{ ref('stg_store__debit_orders') }} o
left join {{ ref('stg_store__debit_batches') }} b on b.debit_batch_id = o.debit_batch_id
