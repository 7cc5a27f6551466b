-- Σ instalment principal = financed amount, per contract.
select contract_no, schedule_principal_minor, financed_minor
from {{ ref('int_contracts_balanced') }}
where schedule_principal_minor <> financed_minor
