with renamed as (
    select
        pv.product_version_id,
        p.product_code,
        p.name as product_name,
        p.business_type,
        pv.version as product_version
    from {{ source('store', 'product_version') }} pv
    join {{ source('store', 'product') }} p on p.product_id = pv.product_id
)

select * from renamed
