-- Write-offs (核销) and recoveries after write-off by month: contracts, amounts written off (net of
-- the customer credit set against them) and money received for written-off contracts.
with events as (
    select date_trunc('month', business_date) as month, event_type, contract_id,
           case when event_type = 'write_off' then outstanding_principal + principal + interest + fee + penalty - credit else 0 end as written_off,
           case when event_type = 'recovery' then amount else 0 end as recovered
    from {{ ref('stg_store__money_events') }}
    where event_type in ('write_off', 'recovery')
)
select
    cast(month as date) as month,
    count(distinct contract_id) filter (where event_type = 'write_off') as contracts_written_off,
    sum(written_off) as written_off,
    sum(recovered) as recovered
from events
group by month
order by month
