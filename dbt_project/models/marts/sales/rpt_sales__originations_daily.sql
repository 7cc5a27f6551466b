select
    start_date as origination_date,
    business_type,
    product_code,
    count(*) as contracts,
    sum(financed_amount) as financed_amount,
    cast(sum(financed_amount) / count(*) as decimal(18, 2)) as average_ticket
from {{ ref('int_contracts_balanced') }}
group by all
order by origination_date, business_type, product_code
