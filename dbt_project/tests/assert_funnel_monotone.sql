-- A later funnel stage never counts more applications than the one before it.
select * from (
    select stage, applications, lag(applications) over (order by stage_order) as previous
    from {{ ref('rpt_approval__funnel') }}
) where previous is not null and applications > previous
