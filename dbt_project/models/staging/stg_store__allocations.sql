with source as (
    select * from {{ source('store', 'allocation') }}
),

renamed as (
    select
        allocation_id,
        receipt_id,
        instalment_id,
        component,
        {{ minor_to_major('amount_minor') }} as amount,
        amount_minor,
        cast(business_date as date) as business_date
    from source
)

select * from renamed
