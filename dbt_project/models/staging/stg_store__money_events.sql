with source as (
    select * from {{ source('store', 'money_event') }}
),

renamed as (
    select
        money_event_id,
        event_type,
        contract_id,
        cast(business_date as date) as business_date,
        {{ minor_to_major('principal_minor') }} as principal,
        {{ minor_to_major('interest_minor') }} as interest,
        {{ minor_to_major('fee_minor') }} as fee,
        {{ minor_to_major('penalty_minor') }} as penalty,
        {{ minor_to_major('vat_minor') }} as vat,
        {{ minor_to_major('credit_minor') }} as credit,
        {{ minor_to_major('outstanding_principal_minor') }} as outstanding_principal,
        {{ minor_to_major('amount_minor') }} as amount,
        {{ minor_to_major('principal_vat_minor') }} as principal_vat
    from source
)

select * from renamed
