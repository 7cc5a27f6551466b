with source as (
    select * from {{ source('store', 'collection_case') }}
),

renamed as (
    select
        collection_case_id,
        contract_id,
        status as case_status,
        cast(opened_date as date) as opened_date,
        cast(closed_date as date) as closed_date,
        bucket_at_open,
        worst_bucket,
        worst_dpd,
        close_reason,
        stage,
        collection_status,
        category,
        group_code,
        assignee_user_id
    from source
)

select * from renamed
