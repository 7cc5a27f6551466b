with source as (
    select * from {{ source('store', 'reconciliation_break') }}
),

renamed as (
    select
        reconciliation_break_id,
        cast(business_date as date) as business_date,
        bank_code,
        kind as break_kind,
        reference,
        {{ minor_to_major('bank_minor') }} as bank_amount,
        {{ minor_to_major('book_minor') }} as book_amount,
        status as break_status
    from source
)

select * from renamed
