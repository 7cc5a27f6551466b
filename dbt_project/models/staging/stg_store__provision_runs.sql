with source as (
    select * from {{ source('store', 'provision_run') }}
),

renamed as (
    select
        cast(business_date as date) as business_date,
        currency,
        bucket,
        contracts,
        {{ minor_to_major('exposure_minor') }} as exposure,
        cast(cast(rate_ppm as decimal(12, 0)) * cast(0.000001 as decimal(7, 6)) as decimal(9, 6)) as provision_rate,
        {{ minor_to_major('required_minor') }} as required
    from source
)

select * from renamed
