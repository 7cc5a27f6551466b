-- The allowance for credit losses (减值准备) each bucket needs on the latest business date: its
-- active contracts' exposure (unbilled principal and billed unpaid receivables) × the bucket's rate.
-- The allowance account (1231) holds the total; the nightly cycle trues it up.
with latest as (
    select max(business_date) as business_date from {{ ref('stg_store__provision_runs') }}
)
select
    p.business_date,
    p.currency,
    p.bucket,
    p.contracts,
    p.exposure,
    p.provision_rate,
    p.required
from {{ ref('stg_store__provision_runs') }} p
join latest l on l.business_date = p.business_date
order by p.currency, case p.bucket when 'current' then 0 when 'M1' then 1 when 'M2' then 2 when 'M3' then 3 else 4 end
