with source as (
    select * from {{ source('store', 'promise_to_pay') }}
),

renamed as (
    select
        promise_to_pay_id,
        collection_case_id,
        contract_id,
        {{ minor_to_major('amount_minor') }} as amount,
        cast(made_date as date) as made_date,
        cast(promised_date as date) as promised_date,
        status as promise_status,
        {{ minor_to_major('paid_minor') }} as paid,
        cast(resolved_date as date) as resolved_date
    from source
)

select * from renamed
