with source as (
    select * from {{ source('store', 'collection_contact') }}
),

renamed as (
    select
        collection_contact_id,
        collection_case_id,
        contract_id,
        kind as contact_kind,
        outcome,
        party,
        agency_code,
        cast(business_date as date) as business_date
    from source
)

select * from renamed
