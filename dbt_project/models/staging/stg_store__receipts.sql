with source as (
    select * from {{ source('store', 'receipt') }}
),

renamed as (
    select
        receipt_id,
        contract_id,
        source as receipt_source,
        source_ref,
        {{ minor_to_major('amount_minor') }} as amount,
        amount_minor,
        cast(value_date as date) as value_date,
        cast(business_date as date) as business_date,
        status as receipt_status,
        cast(created_at as timestamp) as created_at
    from source
)

select * from renamed
