with source as (
    select * from {{ source('store', 'collection_cost') }}
),

renamed as (
    select
        collection_cost_id,
        collection_case_id,
        contract_id,
        category as cost_category,
        {{ minor_to_major('amount_minor') }} as amount,
        {{ minor_to_major('recovered_minor') }} as recovered,
        cast(business_date as date) as business_date
    from source
)

select * from renamed
