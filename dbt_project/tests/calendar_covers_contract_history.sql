-- Contract lines that start before the monthly calendar would silently lose their early months: name them.
select line_key, service_start_date
from {{ ref('int_contract_lines') }}
where service_start_date < cast('{{ var("calendar_start_month") }}' as date)
