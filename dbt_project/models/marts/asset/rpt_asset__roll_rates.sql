-- Month-over-month roll rates: of the principal in each bucket at one month end, the share found
-- in each bucket at the next (closed = no longer active: paid off, settled, written off).
-- Built from the store's month-end snapshots; empty until the cycle has passed two month ends.
with snapshots as (
    select * from {{ ref('stg_store__bucket_snapshots') }}
),
months as (
    select month_end, lead(month_end) over (order by month_end) as next_month_end
    from (select distinct month_end from snapshots)
),
moves as (
    select
        m.month_end as from_month_end,
        m.next_month_end as to_month_end,
        a.bucket as from_bucket,
        coalesce(b.bucket, 'closed') as to_bucket,
        a.principal_outstanding
    from months m
    join snapshots a on a.month_end = m.month_end
    left join snapshots b on b.month_end = m.next_month_end and b.contract_id = a.contract_id
    where m.next_month_end is not null
)
select
    from_month_end,
    to_month_end,
    from_bucket,
    to_bucket,
    count(*) as contracts,
    sum(principal_outstanding) as principal_outstanding,
    cast(sum(principal_outstanding) / sum(sum(principal_outstanding)) over (partition by from_month_end, from_bucket) as decimal(9, 6)) as roll_rate
from moves
group by from_month_end, to_month_end, from_bucket, to_bucket
order by from_month_end, from_bucket, to_bucket
