-- Collection agencies (委外): cases sent, still with the agency, what the contracts paid while they
-- had them and the commission accrued on it.
select
    agency_code,
    count(*) as cases,
    count(*) filter (where outsourcing_status = 'active') as active_cases,
    sum(recovered) as recovered,
    sum(commission) as commission,
    cast(sum(recovered) / count(*) as decimal(18, 2)) as recovered_per_case
from {{ ref('stg_store__case_outsourcing') }}
group by agency_code
order by agency_code
