-- Income recognised per day: interest (net of VAT) and fees at billing, penalty interest as it accrues.
select
    business_date,
    sum(interest - vat) filter (where event_type in ('billing', 'early_settlement')) as interest_income,
    sum(vat) as vat_output,
    sum(penalty) filter (where event_type = 'penalty_accrual') as penalty_income,
    sum(fee) filter (where event_type in ('billing', 'early_settlement')) as fee_income
from {{ ref('stg_store__money_events') }}
where event_type in ('billing', 'penalty_accrual', 'early_settlement')
group by business_date
order by business_date
