-- Cash received per day and source, and how it was applied (customer credit and deposits applied to bills, and waivers, are not new cash: left out).
select
    r.business_date,
    r.receipt_source,
    count(*) as receipts,
    sum(r.amount) as received,
    sum(a.allocated) as allocated,
    sum(a.to_credit) as to_customer_credit
from {{ ref('stg_store__receipts') }} r
left join (
    select receipt_id,
           sum(amount) filter (where component <> 'credit') as allocated,
           sum(amount) filter (where component = 'credit') as to_credit
    from {{ ref('stg_store__allocations') }} group by receipt_id
) a on a.receipt_id = r.receipt_id
where r.receipt_status <> 'reversed' and r.receipt_source not in ('credit', 'waiver', 'deposit')
group by all
order by r.business_date, r.receipt_source
