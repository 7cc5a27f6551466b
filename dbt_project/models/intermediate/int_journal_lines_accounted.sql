-- Journal lines with their account's name and type from the chart of accounts.
select
    l.*,
    a.name as account_name,
    a.name_zh as account_name_zh,
    a.account_type
from {{ ref('stg_store__journal_lines') }} l
join {{ source('reference', 'chart_of_accounts') }} a on a.code = l.account_code
