-- One row per contract with its attributes and its balances from the instalments (one pass).
with balances as (
    select
        contract_id,
        count(*) as instalments,
        sum(principal_minor) as schedule_principal_minor,
        sum(case when instalment_status = 'scheduled' then principal_minor else 0 end) as unbilled_principal_minor,
        sum(case when instalment_status in ('billed', 'paid') then principal_minor - paid_principal_minor else 0 end) as billed_principal_minor,
        sum(case when instalment_status in ('billed', 'paid') then interest_minor - paid_interest_minor else 0 end) as billed_interest_minor,
        sum(case when instalment_status in ('billed', 'paid') then fee_minor - paid_fee_minor else 0 end) as billed_fee_minor,
        sum(case when instalment_status <> 'written_off' then penalty_minor - paid_penalty_minor else 0 end) as penalty_unpaid_minor,
        sum(penalty_minor) as penalty_accrued_minor,
        min(case when instalment_status = 'scheduled' then due_date end) as next_due_date
    from {{ ref('stg_store__instalments') }}
    group by contract_id
)

select
    c.contract_id,
    c.contract_no,
    c.business_type,
    c.method,
    c.contract_status,
    c.start_date,
    date_trunc('month', c.start_date) as vintage_month,
    c.maturity_date,
    c.closed_date,
    c.term_months,
    c.price,
    c.down_payment,
    c.financed_amount,
    c.financed_minor,
    c.customer_credit,
    c.dpd,
    c.bucket,
    p.product_code,
    p.product_name,
    pa.partner_id,
    pa.partner_code,
    pa.partner_name,
    pa.rating as partner_rating,
    pa.region,
    pa.city,
    v.model_code,
    v.brand,
    v.vehicle_condition,
    b.instalments,
    b.schedule_principal_minor,
    b.next_due_date,
    {{ minor_to_major('b.unbilled_principal_minor') }} as unbilled_principal,
    {{ minor_to_major('b.billed_principal_minor') }} as billed_principal_unpaid,
    {{ minor_to_major('b.billed_interest_minor') }} as billed_interest_unpaid,
    {{ minor_to_major('b.billed_fee_minor') }} as billed_fee_unpaid,
    {{ minor_to_major('b.penalty_unpaid_minor') }} as penalty_unpaid,
    {{ minor_to_major('b.penalty_accrued_minor') }} as penalty_accrued,
    {{ minor_to_major('b.unbilled_principal_minor + b.billed_principal_minor') }} as principal_outstanding,
    {{ minor_to_major('b.billed_principal_minor + b.billed_interest_minor + b.billed_fee_minor') }} as billed_unpaid
from {{ ref('stg_store__contracts') }} c
join balances b on b.contract_id = c.contract_id
join {{ ref('stg_store__products') }} p on p.product_version_id = c.product_version_id
join {{ ref('stg_store__partners') }} pa on pa.partner_id = c.partner_id
left join {{ ref('stg_store__vehicles') }} v on v.vehicle_id = c.vehicle_id
