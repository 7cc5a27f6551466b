select
    inventory_status,
    branch,
    vehicle_condition,
    count(*) as vehicles,
    sum(price) as value_at_price
from {{ ref('stg_store__vehicles') }}
group by all
order by inventory_status, branch
