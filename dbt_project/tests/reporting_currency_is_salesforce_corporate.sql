-- DatedConversionRate rates are per unit of the corporate currency; the ARR maths assumes it is the reporting one.
select currency_code
from {{ ref('stg_salesforce__currency_types') }}
where is_corporate and currency_code <> '{{ var("reporting_currency") }}'
