with source as (
    select * from {{ source('store', 'instalment') }}
),

-- the penalty booked on an instalment is kept beside it (a row only where one was ever accrued)
penalty as (
    select * from {{ source('store', 'instalment_penalty') }}
),

renamed as (
    select
        source.instalment_id,
        source.contract_id,
        source.seq,
        cast(source.due_date as date) as due_date,
        source.status as instalment_status,
        source.principal_minor,
        source.interest_minor,
        source.fee_minor,
        coalesce(penalty.penalty_minor, 0) as penalty_minor,
        source.paid_principal_minor,
        source.paid_interest_minor,
        source.paid_fee_minor,
        source.paid_penalty_minor,
        cast(source.billed_date as date) as billed_date,
        cast(source.paid_date as date) as paid_date
    from source
    left join penalty on penalty.instalment_id = source.instalment_id
)

select * from renamed
