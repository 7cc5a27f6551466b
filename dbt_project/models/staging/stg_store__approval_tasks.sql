with source as (
    select * from {{ source('store', 'approval_task') }}
),

renamed as (
    select
        approval_task_id,
        application_id,
        tier,
        tier_seq,
        status as task_status,
        outcome,
        reason_code,
        cast(created_at as timestamp) as created_at,
        cast(decided_at as timestamp) as decided_at
    from source
)

select * from renamed
