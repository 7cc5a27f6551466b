with renamed as (
    select
        o.debit_order_id,
        o.debit_batch_id,
        o.contract_id,
        o.mandate_id,
        o.end_to_end_id,
        {{ minor_to_major('o.amount_minor') }} as amount,
        cast(o.business_date as date) as business_date,
        o.status as order_status,
        o.reason_code,
        o.attempt
    from {{ source('store', 'debit_order') }} o
)

select * from renamed
