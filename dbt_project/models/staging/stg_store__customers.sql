with source as (
    select * from {{ source('store', 'customer') }}
),

renamed as (
    select
        customer_id,
        kind as customer_kind,
        id_type,
        {{ mask('id_number') }} as id_number_masked,
        {{ mask('mobile') }} as mobile_masked,
        cast(birth_date as date) as birth_date,
        city,
        cast(is_blacklisted as boolean) as is_blacklisted
    from source
)

select * from renamed
