-- Every collection case with the work done on it and the money it moved: contacts, promises,
-- the agency and what it recovered, collection costs and what a sale recovered of them, a lawsuit
-- and home visits, the vehicle's sale, the amount written off and what came in after the write-off.
with contacts as (
    select collection_case_id, count(*) as contacts from {{ ref('stg_store__collection_contacts') }} group by 1
),
promises as (
    select collection_case_id, count(*) as promises_made,
           count(*) filter (where promise_status = 'kept') as promises_kept,
           count(*) filter (where promise_status = 'broken') as promises_broken
    from {{ ref('stg_store__promises') }} group by 1
),
agencies as (
    select collection_case_id, max(agency_code) as agency_code, count(*) as agency_assignments,
           sum(recovered) as agency_recovered, sum(commission) as agency_commission
    from {{ ref('stg_store__case_outsourcing') }} group by 1
),
costs as (
    select collection_case_id, sum(amount) as costs, sum(recovered) as costs_recovered from {{ ref('stg_store__collection_costs') }} group by 1
),
sales as (
    select collection_case_id, max(repossession_status) as repossession_status, sum(sale_price) as sale_price
    from {{ ref('stg_store__repossessions') }} group by 1
),
lawsuits as (
    select collection_case_id, max(litigation_status) as litigation_status, sum(awarded) as awarded
    from {{ ref('stg_store__litigation') }} group by 1
),
visits as (
    select collection_case_id, count(*) as visits from {{ ref('stg_store__field_visits') }} group by 1
),
losses as (
    select contract_id,
           sum(outstanding_principal + principal + interest + fee + penalty - credit) filter (where event_type = 'write_off') as written_off,
           sum(amount) filter (where event_type = 'recovery') as recovered_after_write_off
    from {{ ref('stg_store__money_events') }} where event_type in ('write_off', 'recovery') group by 1
)
select
    k.collection_case_id as case_id,
    c.contract_no,
    k.case_status,
    k.stage,
    k.collection_status,
    k.category,
    k.group_code,
    u.username as assignee,
    k.opened_date,
    k.closed_date as case_closed_date,
    k.close_reason,
    k.bucket_at_open,
    k.worst_bucket,
    k.worst_dpd,
    coalesce(ct.contacts, 0) as contacts,
    coalesce(p.promises_made, 0) as promises_made,
    coalesce(p.promises_kept, 0) as promises_kept,
    coalesce(p.promises_broken, 0) as promises_broken,
    a.agency_code,
    coalesce(a.agency_recovered, 0) as agency_recovered,
    coalesce(a.agency_commission, 0) as agency_commission,
    coalesce(co.costs, 0) as costs,
    coalesce(co.costs_recovered, 0) as costs_recovered,
    lw.litigation_status,
    lw.awarded,
    coalesce(fv.visits, 0) as visits,
    s.repossession_status,
    s.sale_price,
    coalesce(l.written_off, 0) as written_off,
    coalesce(l.recovered_after_write_off, 0) as recovered_after_write_off
from {{ ref('stg_store__collection_cases') }} k
join {{ ref('stg_store__contracts') }} c on c.contract_id = k.contract_id
left join {{ ref('stg_store__users') }} u on u.user_id = k.assignee_user_id
left join contacts ct on ct.collection_case_id = k.collection_case_id
left join promises p on p.collection_case_id = k.collection_case_id
left join agencies a on a.collection_case_id = k.collection_case_id
left join costs co on co.collection_case_id = k.collection_case_id
left join sales s on s.collection_case_id = k.collection_case_id
left join lawsuits lw on lw.collection_case_id = k.collection_case_id
left join visits fv on fv.collection_case_id = k.collection_case_id
left join losses l on l.contract_id = k.contract_id and k.close_reason = 'written_off'
order by k.collection_case_id
