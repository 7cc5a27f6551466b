with source as (
    select * from {{ source('store', 'bucket_snapshot') }}
),

renamed as (
    select
        cast(snapshot_date as date) as month_end,
        contract_id,
        bucket,
        dpd,
        {{ minor_to_major('principal_outstanding_minor') }} as principal_outstanding
    from source
)

select * from renamed
