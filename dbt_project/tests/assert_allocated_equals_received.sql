-- Every applied receipt is allocated exactly (customer credit included).
select r.receipt_id, r.amount_minor, sum(a.amount_minor) as allocated
from {{ ref('stg_store__receipts') }} r
join {{ ref('stg_store__allocations') }} a on a.receipt_id = r.receipt_id
where r.receipt_status = 'applied'
group by r.receipt_id, r.amount_minor
having sum(a.amount_minor) <> r.amount_minor
