-- Open collection cases by the contract's bucket today, with what they owe.
select
    c.bucket,
    count(*) as open_cases,
    sum(c.billed_unpaid) as billed_unpaid,
    sum(c.penalty_unpaid) as penalty_unpaid,
    sum(c.principal_outstanding) as principal_outstanding,
    cast(avg(date_diff('day', k.opened_date, (select max(business_date) from {{ ref('stg_store__business_days') }}))) as decimal(9, 1)) as average_case_age_days
from {{ ref('stg_store__collection_cases') }} k
join {{ ref('int_contracts_balanced') }} c on c.contract_id = k.contract_id
where k.case_status = 'open'
group by c.bucket
order by c.bucket
