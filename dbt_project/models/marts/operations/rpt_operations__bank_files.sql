select
    business_date,
    bank_code,
    direction,
    file_type,
    file_status,
    count(*) as files,
    sum(size_bytes) as bytes,
    string_agg(case when file_status = 'quarantined' then file_name || ': ' || reason end, '; ') as quarantine_reasons
from {{ ref('stg_store__bank_files') }}
group by all
order by business_date, bank_code, direction
