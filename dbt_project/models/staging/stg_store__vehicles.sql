with source as (
    select * from {{ source('store', 'vehicle') }}
),

renamed as (
    select
        vehicle_id,
        vin,
        model_code,
        brand,
        model_name,
        condition as vehicle_condition,
        {{ minor_to_major('price_minor') }} as price,
        inventory_status,
        partner_id,
        coalesce(branch, 'unassigned') as branch
    from source
)

select * from renamed
