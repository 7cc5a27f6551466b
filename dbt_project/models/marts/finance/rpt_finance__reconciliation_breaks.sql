select * from {{ ref('stg_store__reconciliation_breaks') }}
order by business_date, bank_code
