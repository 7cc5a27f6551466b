with source as (
    select * from {{ source('store', 'repossession') }}
),

renamed as (
    select
        repossession_id,
        collection_case_id,
        contract_id,
        vehicle_id,
        status as repossession_status,
        agent_code,
        cast(ordered_date as date) as ordered_date,
        cast(repossessed_date as date) as repossessed_date,
        {{ minor_to_major('valuation_minor') }} as valuation,
        cast(sale_date as date) as sale_date,
        {{ minor_to_major('sale_minor') }} as sale_price,
        {{ minor_to_major('costs_recovered_minor') }} as costs_recovered
    from source
)

select * from renamed
