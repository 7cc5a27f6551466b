-- Collection performance by group: cases, how they ended (cured, written off, still open), the
-- cure rate of the closed ones, contacts logged, and promises with their kept rate.
with cases as (
    select * from {{ ref('rpt_operations__collection_cases') }}
)
select
    coalesce(group_code, '(unassigned)') as group_code,
    count(*) as cases,
    count(*) filter (where case_status = 'open') as open_cases,
    count(*) filter (where close_reason = 'cured') as cured,
    count(*) filter (where close_reason = 'written_off') as written_off_cases,
    cast(count(*) filter (where close_reason = 'cured') / nullif(count(*) filter (where case_status = 'closed'), 0) as decimal(9, 6)) as cure_rate,
    sum(contacts) as contacts,
    sum(promises_made) as promises_made,
    sum(promises_kept) as promises_kept,
    sum(promises_broken) as promises_broken,
    cast(sum(promises_kept) / nullif(sum(promises_kept) + sum(promises_broken), 0) as decimal(9, 6)) as promise_kept_rate
from cases
group by 1
order by 1
