-- How often each pre-approval rule fires, and with which outcome. The rules engine records its
-- hits in decision.details as {"rule_hits": [{"rule": "AGE_18_60", "outcome": "reject"}, ...]}.
with decisions as (
    select decision_id, details_json
    from {{ ref('stg_store__decisions') }}
    where decision_kind = 'pre_approval'
),
hits as (
    select decision_id, unnest(from_json(json_extract(details_json, '$.rule_hits'), '[{"rule": "VARCHAR", "outcome": "VARCHAR"}]')) as hit
    from decisions
    where details_json is not null
)
select
    hit.rule as rule_code,
    hit.outcome,
    count(*) as hits,
    cast(count(*) * 1.0 / (select count(*) from decisions) as decimal(9, 4)) as hit_rate
from hits
group by hit.rule, hit.outcome
order by hits desc, rule_code
