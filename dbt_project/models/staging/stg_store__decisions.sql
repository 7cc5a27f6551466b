with source as (
    select * from {{ source('store', 'decision') }}
),

renamed as (
    select
        decision_id,
        application_id,
        kind as decision_kind,
        outcome,
        reason_code,
        rule_set_version,
        score,
        grade,
        cast(details as varchar) as details_json,
        cast(decided_at as timestamp) as decided_at
    from source
)

select * from renamed
