"""The SOQL parser and compiler: the §A4 subset, Salesforce's error codes, and never a crash."""

from __future__ import annotations

import random
from datetime import date, datetime

import pytest

from connectors.simulator.server.salesforce import soql
from connectors.simulator.server.salesforce.query import compile_query, date_literal_range
from connectors.simulator.server.salesforce.soql import SoqlError, parse

from .sf_fixtures import build_dataset


@pytest.fixture(scope="module")
def dataset():
    return build_dataset()


def run(dataset, text: str, include_deleted: bool = False) -> list[tuple]:
    """The selected values of each result row, in order."""
    plan = compile_query(dataset, parse(text), include_deleted=include_deleted)
    with dataset.reading() as cur:
        rows = cur.execute(plan.sql, plan.params).fetchall()
    return [tuple(row[c.index] for c in plan.columns) for row in rows]


def error_code(fn, *args) -> str:
    with pytest.raises(SoqlError) as info:
        fn(*args)
    assert info.value.status == 400
    return info.value.code


# ---- parsing ---------------------------------------------------------------------------------

def test_parses_select_with_relationships_where_order_limit_offset():
    q = parse("select Id, Owner.Name, Account.Owner.Name from Contact "
              "WHERE (Email LIKE '%@x.com' or FirstName IN ('a', 'b')) AND NOT LastName = null "
              "ORDER BY LastName DESC NULLS FIRST, Id LIMIT 10 OFFSET 5")
    assert [f.path for f in q.fields] == [("Id",), ("Owner", "Name"), ("Account", "Owner", "Name")]
    assert q.object == "Contact"
    assert isinstance(q.where, soql.BoolOp) and q.where.op == "AND"
    assert isinstance(q.where.items[0], soql.BoolOp) and q.where.items[0].op == "OR"
    assert isinstance(q.where.items[1], soql.Not)
    assert [(k.field.path, k.descending, k.nulls_first) for k in q.order_by] == [
        (("LastName",), True, True), (("Id",), False, None)]
    assert (q.limit, q.offset) == (10, 5)


def test_count_and_not_in():
    q = parse("SELECT COUNT() FROM Account WHERE Type NOT IN ('Other', null)")
    assert q.is_count
    assert isinstance(q.where, soql.InList) and q.where.negated and len(q.where.values) == 2


@pytest.mark.parametrize(("literal", "expected"), [
    ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5)),
    ("2024-01-02T03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5)),
    ("2024-01-02T03:04:05-05:00", datetime(2024, 1, 2, 8, 4, 5)),
    ("2024-01-02T03:04:05.250Z", datetime(2024, 1, 2, 3, 4, 5, 250_000)),
    ("2024-01-02T03:04:05.000+0000", datetime(2024, 1, 2, 3, 4, 5)),
])
def test_datetime_literal_forms_are_normalised_to_utc(literal, expected):
    q = parse(f"SELECT Id FROM Account WHERE SystemModstamp > {literal}")
    assert q.where.value.kind == "datetime" and q.where.value.value == expected


def test_other_literals():
    q = parse(r"SELECT Id FROM A WHERE a = 'it\'s \\ \n' AND b = -1.5 AND c = TRUE AND d = 2024-02-29 "
              "AND e = LAST_N_DAYS:7 AND f = n_days_ago:2 AND g = this_month")
    values = [c.value for c in q.where.items]
    assert [(v.kind, v.value) for v in values] == [
        ("string", "it's \\ \n"), ("number", -1.5), ("boolean", True), ("date", date(2024, 2, 29)),
        ("date_literal", ("LAST_N_DAYS", 7)), ("date_literal", ("N_DAYS_AGO", 2)),
        ("date_literal", ("THIS_MONTH", None)),
    ]


def test_like_escapes_keep_wildcards_literal():
    q = parse(r"SELECT Id FROM A WHERE Name LIKE '50\% off\_%'")
    assert q.where.pattern.like == r"50\% off\_%"


def test_date_literal_ranges():
    today = date(2024, 6, 15)
    assert date_literal_range("TODAY", None, today) == (today, date(2024, 6, 16))
    assert date_literal_range("YESTERDAY", None, today) == (date(2024, 6, 14), today)
    assert date_literal_range("LAST_N_DAYS", 3, today) == (date(2024, 6, 12), date(2024, 6, 16))
    assert date_literal_range("N_DAYS_AGO", 3, today) == (date(2024, 6, 12), date(2024, 6, 13))
    assert date_literal_range("THIS_MONTH", None, today) == (date(2024, 6, 1), date(2024, 7, 1))
    assert date_literal_range("LAST_MONTH", None, date(2024, 1, 10)) == (date(2023, 12, 1), date(2024, 1, 1))


@pytest.mark.parametrize("text", [
    "SELECT Type, COUNT(Id) FROM Account GROUP BY Type",
    "SELECT Id FROM Account GROUP BY Type",
    "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
    "SELECT FIELDS(ALL) FROM Account LIMIT 200",
    "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
    "SELECT MAX(AnnualRevenue) FROM Account",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
    "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024",
    "SELECT Id, COUNT() FROM Account",
    "SELECT Id FROM Account WHERE Name = 'unterminated",
    r"SELECT Id FROM Account WHERE Name = 'bad \q escape'",
    "SELECT Id FROM Account WHERE",
    "SELECT Id FROM Account LIMIT -1",
    "SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00",
    "SELECT Id FROM Account WHERE Name = \"double\"",
    "SELECT Id FROM Account ORDER BY",
    "SELECT FROM Account",
    "DELETE FROM Account",
    "",
])
def test_unsupported_or_broken_syntax_is_malformed_query(text):
    assert error_code(parse, text) == "MALFORMED_QUERY"


def test_malformed_message_names_token_and_position():
    with pytest.raises(SoqlError) as info:
        parse("SELECT Id FROM Account GROUP BY Type")
    assert "ERROR at Row:1:Column:24" in info.value.message
    assert "unexpected token: 'GROUP'" in info.value.message


# ---- binding and compiling -------------------------------------------------------------------

def test_names_are_case_insensitive_and_output_canonical(dataset):
    plan = compile_query(dataset, parse("select id, NAME, owner.name from ACCOUNT"))
    assert plan.object == "Account"
    assert [c.name for c in plan.columns] == ["Id", "Name", "Owner.Name"]


@pytest.mark.parametrize(("text", "code"), [
    ("SELECT Id, Nope FROM Account", "INVALID_FIELD"),
    ("SELECT Id, Nope.Name FROM Account", "INVALID_FIELD"),
    ("SELECT Id, What.Industry FROM Task", "INVALID_FIELD"),
    ("SELECT Id, IsDeleted FROM User", "INVALID_FIELD"),
    ("SELECT Id FROM Nope", "INVALID_TYPE"),
    ("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE CustomerSince__c > 2024-01-01T00:00:00Z", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE CustomerSince__c = '2024-01-01'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE IsDeleted = 'true'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE BillingAddress = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE NumberOfEmployees LIKE '5%'", "INVALID_FIELD"),
    ("SELECT Id, Name, name FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
])
def test_binding_errors(dataset, text, code):
    assert error_code(lambda: compile_query(dataset, parse(text))) == code


def test_literals_are_bound_never_interpolated(dataset):
    assert run(dataset, r"SELECT Id FROM Account WHERE Name = 'x\' OR 1=1 --'") == []
    rows = run(dataset, r"SELECT Name FROM Account WHERE Name = 'globex \'o\\brien\' 005'")
    assert [r[0] for r in rows] == ["Globex 'O\\Brien' 005"]  # string equality is case-insensitive


def test_filters_ordering_and_limits(dataset):
    rows = run(dataset, "SELECT Name, NumberOfEmployees FROM Account WHERE NumberOfEmployees >= 30 "
                        "AND NumberOfEmployees < 45 ORDER BY NumberOfEmployees DESC LIMIT 3 OFFSET 1")
    assert [r[1] for r in rows] == [39, 36, 33]
    nulls_first = run(dataset, "SELECT AnnualRevenue FROM Account ORDER BY AnnualRevenue LIMIT 2")
    assert nulls_first[0][0] is None
    nulls_last = run(dataset, "SELECT AnnualRevenue FROM Account ORDER BY AnnualRevenue NULLS LAST LIMIT 1")
    assert nulls_last[0][0] == 1000.5


def test_not_equal_and_not_in_keep_nulls(dataset):
    total = len(run(dataset, "SELECT Id FROM Account"))
    prospects = len(run(dataset, "SELECT Id FROM Account WHERE Type = 'Prospect'"))
    assert len(run(dataset, "SELECT Id FROM Account WHERE Type != 'Prospect'")) == total - prospects
    assert len(run(dataset, "SELECT Id FROM Account WHERE Type NOT IN ('Prospect')")) == total - prospects
    no_type = len(run(dataset, "SELECT Id FROM Account WHERE Type = null"))
    assert 0 < no_type == total - len(run(dataset, "SELECT Id FROM Account WHERE Type != null"))


def test_date_literals_against_the_dataset_clock(dataset):
    # Task.ActivityDate is clock date minus i days; tasks 3 (deleted), 4, 5 (archived) are hidden from query
    assert len(run(dataset, "SELECT Id FROM Task WHERE ActivityDate = LAST_N_DAYS:6")) == 7 - 3
    assert len(run(dataset, "SELECT Id FROM Task WHERE ActivityDate = TODAY")) == 1
    assert len(run(dataset, "SELECT Id FROM Task WHERE ActivityDate = N_DAYS_AGO:2")) == 1
    assert len(run(dataset, "SELECT Id FROM Task WHERE CreatedDate = YESTERDAY")) == 1
    assert len(run(dataset, "SELECT Id FROM Task WHERE ActivityDate = THIS_MONTH")) == 15 - 3


def test_random_input_never_crashes(dataset):
    """Garbage built from SOQL-ish tokens must raise SoqlError (a 400), nothing else."""
    words = ["SELECT", "FROM", "WHERE", "Id", "Name", "Owner.Name", "Account", "Task", "(", ")", ",", "=", "<",
             "IN", "NOT", "LIKE", "'x'", "5", "2024-01-01", "2024-01-01T00:00:00Z", "TODAY", "LAST_N_DAYS:2",
             "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "null", "COUNT()", "DESC", "NULLS", "FIRST", "'", ":"]
    rng = random.Random(7)
    for _ in range(400):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        if rng.random() < 0.5:
            text = "SELECT Id FROM Account WHERE " + text
        try:
            compile_query(dataset, parse(text))
        except SoqlError as exc:
            assert exc.status == 400 and exc.code
