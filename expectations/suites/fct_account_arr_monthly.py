"""fct_account_arr_monthly: account x month ARR and its movement; the bridge must add up and match the contracts."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext

MOVEMENTS = ["new", "expansion", "contraction", "churn", "reactivation", "flat"]
# each movement's signed amount column ("flat" has none)
AMOUNT_OF = {
    "new": "new_arr",
    "expansion": "expansion_arr",
    "contraction": "contraction_arr",
    "churn": "churned_arr",
    "reactivation": "reactivation_arr",
}
AMOUNTS = tuple(AMOUNT_OF.values())


def _movement_identity(ctx: QueryContext) -> str:
    total = " + ".join(AMOUNTS)
    return f"""
        select account_id, month, arr, previous_arr, previous_arr + {total} as bridged_arr
        from {ctx.rel()}
        where abs(arr - (previous_arr + {total})) >= 0.005
        order by account_id, month
    """


def _movement_amounts_match(ctx: QueryContext) -> str:
    # only the movement's own amount may be non-zero, with its sign: contraction and churn are negative
    wrong = [f"({col} <> 0 and movement <> '{mv}')" for mv, col in AMOUNT_OF.items()]
    wrong += [
        "(movement = 'new' and new_arr <= 0)",
        "(movement = 'expansion' and expansion_arr <= 0)",
        "(movement = 'contraction' and contraction_arr >= 0)",
        "(movement = 'churn' and churned_arr >= 0)",
        "(movement = 'reactivation' and reactivation_arr <= 0)",
    ]
    return f"""
        select account_id, month, movement, {", ".join(AMOUNTS)}
        from {ctx.rel()}
        where {" or ".join(wrong)}
        order by account_id, month
    """


def _previous_arr_continuity(ctx: QueryContext) -> str:
    # the bridge chains: previous_arr is the account's arr in the month before (0 when there is no such row); a join
    # rather than lag() so a duplicated row fails the grain rule only
    return f"""
        select cur.account_id, cur.month, cur.previous_arr, coalesce(prior.arr, 0) as prior_month_arr
        from {ctx.rel()} as cur
        left join {ctx.rel()} as prior
            on prior.account_id = cur.account_id and prior.month = cur.month - interval 1 month
        where cur.previous_arr <> coalesce(prior.arr, 0)
        order by cur.account_id, cur.month
    """


def _as_of_arr_matches_contract_lines(ctx: QueryContext) -> str:
    # Independent recomputation from the contract lines under the month-end rule: a line counts in month m iff it
    # starts on or before least(end of m, as-of date) and ends on or after the end of m; rounded per account.
    as_of = (
        f"'{ctx.config.as_of_date.isoformat()}'::date"
        if ctx.config.as_of_date
        else f"(select max(as_of_date)::date from {ctx.rel('fct_account_stakeholder_coverage')})"
        if ctx.has(ctx.rel("fct_account_stakeholder_coverage"))
        else "null"
    )
    return f"""
        with as_of_month as (
            select max(month) as m from {ctx.rel()} where is_as_of_month
        ),
        bounds as (
            select m, last_day(m) as month_end, coalesce({as_of}, last_day(m)) as as_of_date from as_of_month
        ),
        lines as (
            select lines.account_id, round(12 * sum(lines.mrr_usd), 2) as arr
            from intermediate.int_contract_lines as lines, bounds
            where lines.is_recurring and lines.account_id is not null
              and lines.service_start_date <= least(bounds.month_end, bounds.as_of_date)
              and lines.service_end_date >= bounds.month_end
            group by lines.account_id
        ),
        mart as (
            select account_id, arr from {ctx.rel()}, bounds where month = bounds.m
        )
        select coalesce(mart.account_id, lines.account_id) as account_id, mart.arr as mart_arr,
               lines.arr as contract_lines_arr
        from mart
        full outer join lines on lines.account_id = mart.account_id
        where abs(coalesce(mart.arr, 0) - coalesce(lines.arr, 0)) > {float(ctx.config.arr_tolerance)}
        order by 1
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_account_arr_monthly",
        key_columns=("account_id", "month"),
        column_checks=(
            c.grain("account_id", "month"),
            *c.not_null("account_id", "month", "arr", "previous_arr", "movement"),
            c.between("arr_non_negative", "arr", 0),
            c.between("previous_arr_non_negative", "previous_arr", 0),
            c.accepted("movement", MOVEMENTS),
        ),
        rows_checks=(
            c.rows(
                "movement_identity",
                "arr = previous_arr + new + expansion + contraction + churned + reactivation (signed amounts)",
                _movement_identity,
            ),
            c.rows(
                "movement_amounts_match",
                "only the movement's own amount is non-zero, with the movement's sign",
                _movement_amounts_match,
            ),
            c.rows(
                "previous_arr_continuity",
                "previous_arr equals the account's arr in the month before (0 when there is none)",
                _previous_arr_continuity,
            ),
            c.rows(
                "as_of_arr_matches_contract_lines",
                "as-of month ARR per account equals 12 x the active recurring lines' mrr_usd in int_contract_lines",
                _as_of_arr_matches_contract_lines,
                requires=("intermediate.int_contract_lines",),
            ),
            c.active_accounts_volume(
                "accounts with ARR > 0 in the latest month fall by at most max_active_accounts_drop against the "
                "published version",
                lambda rel: f"select count(*) as n from {rel} where month = (select max(month) from {rel}) and arr > 0",
            ),
            c.known_accounts(config.marts_schema),
            c.sources_fresh(),
        ),
    )
