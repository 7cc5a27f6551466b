-- One row per contract: the analysts' starting point.
select * from {{ ref('int_contracts_balanced') }}
