with source as (
    select * from {{ source('store', 'debit_batch') }}
),

renamed as (
    select
        debit_batch_id,
        bank_code,
        cast(business_date as date) as business_date,
        message_id,
        file_name,
        tx_count,
        {{ minor_to_major('ctrl_sum_minor') }} as control_sum,
        status as batch_status
    from source
)

select * from renamed
