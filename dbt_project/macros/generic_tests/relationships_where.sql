{#- Like `relationships`, restricted to rows matching `from_condition`. -#}
{% test relationships_where(model, column_name, to, field, from_condition='1 = 1') %}
select child.{{ column_name }}
from {{ model }} as child
left join {{ to }} as parent on parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null
  and ({{ from_condition }})
  and parent.{{ field }} is null
{% endtest %}
