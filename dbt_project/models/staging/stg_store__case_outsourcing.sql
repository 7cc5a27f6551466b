with source as (
    select * from {{ source('store', 'case_outsourcing') }}
),

renamed as (
    select
        case_outsourcing_id,
        collection_case_id,
        contract_id,
        agency_code,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(cast(commission_rate_ppm as decimal(12, 0)) * cast(0.000001 as decimal(7, 6)) as decimal(9, 6)) as commission_rate,
        status as outsourcing_status,
        cast(ended_date as date) as ended_date,
        {{ minor_to_major('recovered_minor') }} as recovered,
        {{ minor_to_major('commission_minor') }} as commission
    from source
)

select * from renamed
