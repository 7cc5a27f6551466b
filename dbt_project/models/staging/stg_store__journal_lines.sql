with renamed as (
    select
        jl.journal_line_id,
        jl.journal_entry_id,
        je.event_type,
        je.contract_id,
        jl.account_code,
        cast(jl.entry_date as date) as entry_date,
        {{ minor_to_major('jl.debit_minor') }} as debit,
        {{ minor_to_major('jl.credit_minor') }} as credit,
        jl.debit_minor,
        jl.credit_minor
    from {{ source('store', 'journal_line') }} jl
    join {{ source('store', 'journal_entry') }} je on je.journal_entry_id = jl.journal_entry_id
)

select * from renamed
