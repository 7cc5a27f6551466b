select
    vintage_month as origination_month,
    business_type,
    product_code,
    region,
    partner_rating,
    count(*) as contracts,
    sum(financed_amount) as financed_amount,
    cast(sum(financed_amount) / count(*) as decimal(18, 2)) as average_ticket,
    cast(sum(down_payment) / nullif(sum(price), 0) as decimal(9, 4)) as down_payment_ratio
from {{ ref('int_contracts_balanced') }}
group by all
order by origination_month, business_type, product_code, region, partner_rating
