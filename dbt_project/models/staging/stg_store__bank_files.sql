with source as (
    select * from {{ source('store', 'bank_file') }}
),

renamed as (
    select
        bank_file_id,
        bank_code,
        direction,
        file_type,
        file_name,
        sha256,
        message_id,
        size_bytes,
        status as file_status,
        reason,
        cast(business_date as date) as business_date
    from source
)

select * from renamed
