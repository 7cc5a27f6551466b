-- The repossession and disposal pipeline (收车, 车辆处置) by status: vehicles, valuations, sale
-- prices and the collection costs the sales recovered.
select
    repossession_status,
    count(*) as vehicles,
    sum(valuation) as valuation,
    sum(sale_price) as sale_price,
    sum(costs_recovered) as costs_recovered,
    min(ordered_date) as first_ordered_date
from {{ ref('stg_store__repossessions') }}
group by repossession_status
order by repossession_status
