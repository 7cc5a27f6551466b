-- Income recognised per day: interest (net of VAT) and fees at billing and when principal is paid
-- ahead or settled early, our own financed fee kept at activation, penalty interest as it accrues,
-- and the interest and penalty a non-accrual contract held in suspense once it is current again;
-- less what was waived (减免). A lease's buy-out price (net of its VAT) is other operating income.
-- vat_output: VAT falling due that day, on interest and, for a direct lease taxed on the whole
-- rental, on the principal billed, settled or paid ahead, and on buy-outs.
-- held_in_suspense: what non-accrual contracts billed and accrued that day less what was released.
select
    business_date,
    coalesce(sum(interest - vat) filter (where event_type in ('billing', 'early_settlement', 'partial_prepayment')), 0)
        + coalesce(sum(interest) filter (where event_type = 'suspense_release'), 0)
        - coalesce(sum(interest - vat) filter (where event_type = 'waiver'), 0) as interest_income,
    coalesce(sum(vat) filter (where event_type <> 'waiver'), 0) - coalesce(sum(vat) filter (where event_type = 'waiver'), 0)
        + coalesce(sum(principal_vat) filter (where event_type in ('billing', 'billing_non_accrual', 'early_settlement', 'partial_prepayment')), 0)
        as vat_output,
    coalesce(sum(penalty) filter (where event_type = 'penalty_accrual'), 0)
        + coalesce(sum(penalty) filter (where event_type = 'suspense_release'), 0)
        - coalesce(sum(penalty) filter (where event_type = 'waiver'), 0) as penalty_income,
    coalesce(sum(fee) filter (where event_type in ('billing', 'billing_non_accrual', 'early_settlement', 'partial_prepayment', 'disbursement')), 0)
        - coalesce(sum(fee) filter (where event_type = 'waiver'), 0) as fee_income,
    coalesce(sum(amount - vat) filter (where event_type = 'buy_out'), 0) as buy_out_income,
    coalesce(sum(interest - vat) filter (where event_type = 'billing_non_accrual'), 0)
        + coalesce(sum(penalty) filter (where event_type = 'penalty_suspended'), 0)
        - coalesce(sum(interest + penalty) filter (where event_type = 'suspense_release'), 0) as held_in_suspense
from {{ ref('stg_store__money_events') }}
where event_type in ('billing', 'billing_non_accrual', 'penalty_accrual', 'penalty_suspended', 'suspense_release', 'early_settlement',
                     'partial_prepayment', 'disbursement', 'buy_out', 'waiver')
group by business_date
order by business_date
