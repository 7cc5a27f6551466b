with source as (
    select * from {{ source('store', 'application') }}
),

renamed as (
    select
        application_id,
        application_no,
        business_type,
        partner_id,
        product_version_id,
        status as application_status,
        {{ minor_to_major('financed_minor') }} as financed_amount,
        cast(submitted_at as timestamp) as submitted_at,
        cast(created_at as timestamp) as created_at
    from source
)

select * from renamed
