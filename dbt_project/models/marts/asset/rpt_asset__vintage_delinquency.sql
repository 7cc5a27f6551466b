-- Vintage curves: for each origination month, the share of its financed amount now 30+ and 90+
-- days past due, against months on book (a cross-section of today's book).
with book as (
    select
        vintage_month,
        date_diff('month', vintage_month, (select max(business_date) from {{ ref('stg_store__business_days') }} where day_status = 'closed')) as months_on_book,
        financed_amount,
        dpd
    from {{ ref('int_contracts_balanced') }}
)
select
    vintage_month,
    months_on_book,
    count(*) as contracts,
    sum(financed_amount) as financed_amount,
    cast(sum(financed_amount) filter (where dpd > 30) / sum(financed_amount) as decimal(9, 4)) as share_30_plus,
    cast(sum(financed_amount) filter (where dpd > 90) / sum(financed_amount) as decimal(9, 4)) as share_90_plus
from book
group by all
order by vintage_month
