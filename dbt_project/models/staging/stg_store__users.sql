with source as (
    select * from {{ source('store', 'app_user') }}
),

renamed as (
    select
        user_id,
        username,
        role
    from source
)

select * from renamed
