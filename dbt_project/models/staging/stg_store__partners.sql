with source as (
    select * from {{ source('store', 'partner') }}
),

renamed as (
    select
        partner_id,
        partner_code,
        name as partner_name,
        kind as partner_kind,
        rating,
        {{ minor_to_major('credit_limit_minor') }} as credit_limit,
        currency,
        status as partner_status,
        region,
        city,
        cast(is_blacklisted as boolean) as is_blacklisted
    from source
)

select * from renamed
