-- Live financed amount (active contracts) against each partner's credit limit.
select
    p.partner_code,
    p.partner_name,
    p.partner_kind,
    p.rating,
    p.region,
    p.partner_status,
    p.credit_limit,
    coalesce(sum(c.financed_amount) filter (where c.contract_status = 'active'), 0) as live_financed,
    coalesce(sum(c.principal_outstanding) filter (where c.contract_status = 'active'), 0) as principal_outstanding,
    count(c.contract_id) filter (where c.contract_status = 'active') as live_contracts,
    cast(coalesce(sum(c.financed_amount) filter (where c.contract_status = 'active'), 0) / nullif(p.credit_limit, 0) as decimal(9, 4)) as limit_utilisation
from {{ ref('stg_store__partners') }} p
left join {{ ref('int_contracts_balanced') }} c on c.partner_id = p.partner_id
group by p.partner_code, p.partner_name, p.partner_kind, p.rating, p.region, p.partner_status, p.credit_limit
order by live_financed desc
