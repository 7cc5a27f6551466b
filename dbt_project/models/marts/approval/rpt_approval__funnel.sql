-- Applications through the funnel: each stage counts the applications that reached it.
with apps as (
    select * from {{ ref('stg_store__applications') }}
),
reached as (
    select
        application_id,
        application_status <> 'draft' as submitted,
        exists (select 1 from {{ ref('stg_store__decisions') }} d where d.application_id = apps.application_id and d.decision_kind = 'pre_approval' and d.outcome = 'pass') as pre_approved,
        exists (select 1 from {{ ref('stg_store__decisions') }} d where d.application_id = apps.application_id and d.decision_kind = 'pre_approval' and d.outcome = 'refer') as referred,
        application_status = 'rejected' as rejected,
        application_status in ('approved', 'contracted') as approved,
        application_status = 'contracted' as contracted,
        exists (select 1 from {{ ref('stg_store__contracts') }} c where c.application_id = apps.application_id and c.contract_status not in ('pending_signature', 'signed')) as disbursed
    from apps
)
select stage_order, stage, applications from (
    select 1 as stage_order, 'submitted' as stage, count(*) filter (where submitted) as applications from reached
    union all select 2, 'pre-approved or referred', count(*) filter (where pre_approved or referred) from reached
    union all select 3, 'approved', count(*) filter (where approved) from reached
    union all select 4, 'contracted', count(*) filter (where contracted) from reached
    union all select 5, 'disbursed', count(*) filter (where disbursed) from reached
)
order by stage_order
