with source as (
    select * from {{ source('store', 'instalment') }}
),

renamed as (
    select
        instalment_id,
        contract_id,
        seq,
        cast(due_date as date) as due_date,
        status as instalment_status,
        principal_minor,
        interest_minor,
        fee_minor,
        penalty_minor,
        paid_principal_minor,
        paid_interest_minor,
        paid_fee_minor,
        paid_penalty_minor,
        cast(billed_date as date) as billed_date,
        cast(paid_date as date) as paid_date
    from source
)

select * from renamed
