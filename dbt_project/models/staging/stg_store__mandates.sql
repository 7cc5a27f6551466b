with source as (
    select * from {{ source('store', 'mandate') }}
),

renamed as (
    select
        mandate_id,
        contract_id,
        bank_code,
        status as mandate_status,
        status_reason
    from source
)

select * from renamed
