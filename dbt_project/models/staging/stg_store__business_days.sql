with source as (
    select * from {{ source('store', 'business_day') }}
),

renamed as (
    select
        cast(business_date as date) as business_date,
        status as day_status
    from source
)

select * from renamed
