with source as (
    select * from {{ source('store', 'field_visit') }}
),

renamed as (
    select
        field_visit_id,
        collection_case_id,
        contract_id,
        status as visit_status,
        cast(dispatched_date as date) as dispatched_date,
        cast(reported_date as date) as reported_date,
        outcome
    from source
)

select * from renamed
