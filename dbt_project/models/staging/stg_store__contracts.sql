with source as (
    select * from {{ source('store', 'contract') }}
),

-- days past due and bucket: a row for each contract past due, none for a current one
past_due as (
    select * from {{ source('store', 'contract_dpd') }}
),

renamed as (
    select
        source.contract_id,
        contract_no,
        application_id,
        partner_id,
        customer_id,
        vehicle_id,
        product_version_id,
        business_type,
        method,
        status as contract_status,
        currency,
        {{ minor_to_major('price_minor') }} as price,
        {{ minor_to_major('down_payment_minor') }} as down_payment,
        {{ minor_to_major('financed_minor') }} as financed_amount,
        financed_minor,
        {{ minor_to_major('balloon_minor') }} as balloon,
        term_months,
        annual_rate_ppm,
        cast(start_date as date) as start_date,
        cast(maturity_date as date) as maturity_date,
        cast(closed_date as date) as closed_date,
        {{ minor_to_major('credit_minor') }} as customer_credit,
        coalesce(past_due.dpd, 0) as dpd,
        coalesce(past_due.bucket, 'current') as bucket,
        cast(is_migrated as boolean) as is_migrated
    from source
    left join past_due using (contract_id)
)

select * from renamed
