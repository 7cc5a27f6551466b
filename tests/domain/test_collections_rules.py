"""The collections rules of assets/collections.yaml, as tables of cases: which group a case goes
to, who gets it, promises kept or broken, commission and allowance rounding, how a sale's
proceeds divide, which reminders of a night run late have lapsed; and the file refused when it is wrong."""

from datetime import date, timedelta

import pytest

from autofin.domain.collections import Reminder, commission_minor, deal, parse_collections, promise_outcome, provision_minor, reminder_lapses, split_proceeds
from autofin.domain.errors import RuleSetError
from autofin.reference import read_yaml
from autofin.settings import assets_dir

RAW = read_yaml(assets_dir() / "collections.yaml")
SETUP = parse_collections(RAW)


@pytest.mark.parametrize(("bucket", "region", "partner", "arrears", "group"), [
    ("M1", "华东", "D00001", 1_000_00, "EARLY"),
    ("M1", "华东", "D00001", 49_999_99, "EARLY"),
    ("M1", "华东", "D00001", 50_000_00, "HIGH"),  # the amount rule comes first
    ("M2", "华南", "D00002", 10_00, "LATE"),
    ("M4+", None, "D00003", 0, "LATE"),
])
def test_the_first_matching_rule_gives_the_group(bucket, region, partner, arrears, group):
    assert SETUP.group_for(bucket=bucket, region=region, partner_code=partner, arrears_minor=arrears) == group


@pytest.mark.parametrize(("members", "load", "n", "dealt"), [
    (["a", "b"], {}, 3, ["a", "b", "a"]),
    (["a", "b"], {"a": 5}, 3, ["b", "a", "b"]),  # the least loaded first
    (["a", "b", "c"], {"a": 1, "b": 1, "c": 0}, 4, ["c", "a", "b", "c"]),  # ties in the order listed
    (["a"], {"a": 9}, 2, ["a", "a"]),
])
def test_new_cases_are_dealt_round_the_least_loaded_first(members, load, n, dealt):
    assert deal(members, load, n) == dealt


@pytest.mark.parametrize(("amount", "paid", "promised", "today", "outcome"), [
    (1000_00, 1000_00, date(2026, 12, 5), date(2026, 12, 5), "kept"),
    (1000_00, 1200_00, date(2026, 12, 5), date(2026, 12, 3), "kept"),  # paid early and more
    (1000_00, 999_99, date(2026, 12, 5), date(2026, 12, 5), "open"),  # a fen short on the day: still open
    (1000_00, 999_99, date(2026, 12, 5), date(2026, 12, 6), "broken"),
    (1000_00, 0, date(2026, 12, 5), date(2026, 12, 6), "broken"),
])
def test_a_promise_is_kept_by_the_money_paid_by_its_date(amount, paid, promised, today, outcome):
    assert promise_outcome(amount_minor=amount, paid_minor=paid, promised_date=promised, today=today) == outcome


NIGHT = date(2026, 11, 26)  # a Thursday, run on time on the 27th
RULES = (Reminder("PRE3", "before_due", 3, "sms", ""), Reminder("OD3", "overdue", 3, "sms", ""), Reminder("OD15", "overdue", 15, "sms", ""),
         Reminder("OD31", "overdue", 31, "letter", ""), Reminder("OD45", "overdue", 45, "sms", ""))


@pytest.mark.parametrize(("code", "days_late", "lapses"), [
    ("PRE3", 0, False),  # run on time: "due on the 29th", read on the 27th
    ("PRE3", 2, False),  # run on the 29th: due that day, still worth saying
    ("PRE3", 3, True),  # run on the 30th: the due date has passed
    ("OD3", 0, False),
    ("OD3", 11, False),  # run on the 8th of December: OD15's night (the 8th) has not ended
    ("OD3", 12, True),  # run on the 9th: OD15's night has ended and this catch-up runs it, which says more
    ("OD15", 16, True),  # a later rule on another channel (the letter at 31 days) speaks for it too
    ("OD31", 400, False),  # a letter, the default notice, is printed however late
    ("OD45", 400, False),  # the last rule: nothing later speaks for it
])
def test_a_reminder_of_a_night_run_late_lapses_once_its_moment_has_passed(code, days_late, lapses):
    rule = next(r for r in RULES if r.code == code)
    assert reminder_lapses(rule, NIGHT, NIGHT + timedelta(days=1 + days_late), RULES) is lapses


@pytest.mark.parametrize(("recovered", "rate_ppm", "commission"), [
    (2000_00, 120_000, 240_00),
    (1, 150_000, 0),  # 0.15 fen rounds to nothing
    (3, 150_000, 0),  # 0.45 fen
    (10, 150_000, 2),  # 1.5 fen rounds half up
    (333_33, 125_000, 41_67),  # 41.66625 yuan
])
def test_commission_rounds_half_up_to_the_fen(recovered, rate_ppm, commission):
    assert commission_minor(recovered, rate_ppm) == commission
    assert provision_minor(recovered, rate_ppm) == commission  # the allowance follows the same rule


@pytest.mark.parametrize(("proceeds", "costs", "recovered", "to_contract"), [
    (28000_00, 2300_00, 2300_00, 25700_00),
    (1500_00, 2300_00, 1500_00, 0),  # a sale below the costs recovers what it can; nothing for the contract
    (5000_00, 0, 0, 5000_00),
    (2300_00, 2300_00, 2300_00, 0),
])
def test_a_sale_recovers_the_costs_first(proceeds, costs, recovered, to_contract):
    split = split_proceeds(proceeds, costs)
    assert (split.costs_recovered_minor, split.to_contract_minor) == (recovered, to_contract)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda r: r["assignment"].append({"when": {"buckets": ["M1"]}, "group": "EARLY"}), "last rule must have no conditions"),
    (lambda r: r["assignment"].insert(0, {"when": {"buckets": ["M9"]}, "group": "EARLY"}), "not a past-due bucket"),
    (lambda r: r["assignment"].insert(0, {"when": {"colour": ["red"]}, "group": "EARLY"}), "unknown condition colour"),
    (lambda r: r["assignment"].insert(0, {"group": "NOBODY"}), "group NOBODY is not among groups"),
    (lambda r: r["groups"][0].update(members=[]), "has no members"),
    (lambda r: r["agencies"][0].update(commission_rate="1.5"), "not a rate between 0 and 1"),
    (lambda r: r["agencies"][0].update(commission_rate="0.1234567"), "at most six decimal places"),
    (lambda r: r["provisioning"].pop("M2"), "a rate for each bucket"),
    (lambda r: r["reminders"][0].update(text="{contract_no} {balance}"), "placeholders are"),
    (lambda r: r["reminders"][0].update(channel="fax"), "channel"),
    (lambda r: r["stages"].pop("disposal"), "stages"),
])
def test_a_wrong_file_is_refused_with_the_reason(edit, message):
    raw = read_yaml(assets_dir() / "collections.yaml")
    edit(raw)
    with pytest.raises(RuleSetError, match=message):
        parse_collections(raw)


@pytest.mark.parametrize(("amount", "levels"), [(1, 1), (500_00, 1), (500_01, 2), (5000_00, 2), (5000_01, 3), (10**12, 3)])
def test_a_waiver_s_chain_follows_its_amount(amount, levels):
    from autofin.reference import approval_matrix

    assert len(approval_matrix().waiver_chain(amount)) == levels
