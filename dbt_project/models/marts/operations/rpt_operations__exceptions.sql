-- The exceptions queue: reversed receipts and open reconciliation breaks, with their age in days.
with today as (select max(business_date) as d from {{ ref('stg_store__business_days') }})
select 'reversed receipt' as exception, r.source_ref as reference, r.amount, r.business_date as since,
       date_diff('day', r.business_date, (select d from today)) as age_days
from {{ ref('stg_store__receipts') }} r where r.receipt_status = 'reversed'
union all
select 'reconciliation break: ' || b.break_kind, b.reference, coalesce(nullif(b.bank_amount, 0), b.book_amount), b.business_date,
       date_diff('day', b.business_date, (select d from today))
from {{ ref('stg_store__reconciliation_breaks') }} b where b.break_status = 'open'
order by age_days desc
