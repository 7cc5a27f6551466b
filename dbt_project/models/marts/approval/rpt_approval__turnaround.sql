-- Hours from task creation to decision, per approval tier.
select
    tier,
    count(*) as decided_tasks,
    count(*) filter (where outcome = 'approve') as approved,
    count(*) filter (where outcome = 'reject') as rejected,
    cast(median(epoch(decided_at - created_at) / 3600.0) as decimal(12, 2)) as median_hours,
    cast(quantile_cont(epoch(decided_at - created_at) / 3600.0, 0.9) as decimal(12, 2)) as p90_hours
from {{ ref('stg_store__approval_tasks') }}
where decided_at is not null
group by tier
order by tier
