-- Billed and unpaid receivables of active contracts by delinquency bucket and component.
select
    bucket,
    count(*) filter (where billed_unpaid > 0 or penalty_unpaid > 0) as contracts,
    sum(billed_principal_unpaid) as principal,
    sum(billed_interest_unpaid) as interest,
    sum(billed_fee_unpaid) as fee,
    sum(penalty_unpaid) as penalty,
    sum(billed_unpaid + penalty_unpaid) as total
from {{ ref('int_contracts_balanced') }}
where contract_status = 'active'
group by bucket
order by case bucket when 'current' then 0 when 'M1' then 1 when 'M2' then 2 when 'M3' then 3 else 4 end
