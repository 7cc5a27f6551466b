with source as (
    select * from {{ source('store', 'litigation') }}
),

renamed as (
    select
        litigation_id,
        collection_case_id,
        contract_id,
        status as litigation_status,
        {{ minor_to_major('claim_minor') }} as claim,
        cast(filed_date as date) as filed_date,
        cast(judgement_date as date) as judgement_date,
        {{ minor_to_major('awarded_minor') }} as awarded,
        cast(closed_date as date) as closed_date,
        close_result
    from source
)

select * from renamed
