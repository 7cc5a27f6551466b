-- Decisions by kind and outcome, with reasons: approval and reject rates.
select
    decision_kind,
    outcome,
    coalesce(reason_code, '') as reason_code,
    count(*) as decisions,
    cast(count(*) * 1.0 / sum(count(*)) over (partition by decision_kind) as decimal(9, 4)) as share_of_kind
from {{ ref('stg_store__decisions') }}
group by decision_kind, outcome, coalesce(reason_code, '')
order by decision_kind, decisions desc
