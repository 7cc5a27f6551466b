-- How much of the outstanding portfolio each partner holds, largest first, with the running share.
with by_partner as (
    select partner_code, partner_name, partner_rating, sum(principal_outstanding) as principal_outstanding, count(*) as contracts
    from {{ ref('int_contracts_balanced') }}
    where contract_status = 'active'
    group by all
)
select
    row_number() over (order by principal_outstanding desc, partner_code) as rank,
    *,
    cast(principal_outstanding / sum(principal_outstanding) over () as decimal(9, 6)) as share,
    cast(sum(principal_outstanding) over (order by principal_outstanding desc, partner_code rows unbounded preceding)
         / sum(principal_outstanding) over () as decimal(9, 6)) as cumulative_share
from by_partner
order by rank
