-- Outstanding portfolio of active contracts by product, vintage year and delinquency bucket.
select
    product_code,
    business_type,
    year(vintage_month) as vintage_year,
    bucket,
    count(*) as contracts,
    sum(principal_outstanding) as principal_outstanding,
    sum(billed_unpaid) as billed_unpaid,
    sum(penalty_unpaid) as penalty_unpaid
from {{ ref('int_contracts_balanced') }}
where contract_status = 'active'
group by all
order by product_code, vintage_year, bucket
