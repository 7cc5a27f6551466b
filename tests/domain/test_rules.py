"""The pre-approval rule engine and the shipped rule set, as a table of cases."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from autofin.domain.errors import RuleSetError
from autofin.domain.rules import compile_expression, parse_rule_set, pre_approve
from autofin.reference import rule_set

GOOD = {
    "application": {"business_type": "loan", "product_code": "NCL-ANN", "price": Decimal("150000"), "down_payment": Decimal("45000"),
                    "down_payment_pct": Decimal("0.3"), "financed": Decimal("105000"), "term_months": 36,
                    "monthly_payment": Decimal("3290.00"), "monthly_income": Decimal("20000"), "dti": Decimal("0.2"), "ltv": Decimal("0.7")},
    "customer": {"kind": "individual", "age": 35, "age_at_maturity": 38, "city": "杭州"},
    "vehicle": {"condition": "new", "model_code": "VW-SAGITAR", "reference_min": Decimal("129900"), "reference_max": Decimal("179900"),
                "price_in_range": True},
    "partner": {"rating": "B", "status": "active", "credit_limit": Decimal("5000000"), "exposure": Decimal("1000000"),
                "exposure_after": Decimal("1105000")},
    "bureau": {"found": True, "score": 720, "overdue_count_24m": 0, "max_overdue_days": 0, "open_loans": 1,
               "monthly_debt": Decimal("0"), "court_records": 0},
    "fraud": {"customer_blacklisted": False, "partner_blacklisted": False, "watchlist_hit": False, "vin_on_live_contract": False,
              "vin_in_open_application": False, "applications_same_id_30d": 1, "applications_same_mobile_30d": 1,
              "invoice_deviation": Decimal("0.02"), "dealer_decisions_30d": 40, "dealer_reject_rate_30d": Decimal("0.1")},
}


def facts(**changes):
    out = {group: dict(values) for group, values in GOOD.items()}
    for key, value in changes.items():
        group, name = key.split("__")
        out[group][name] = value
    return out


@pytest.mark.parametrize(
    ("changes", "outcome", "reason", "rules"),
    [
        ({}, "pass", None, []),
        ({"customer__age": 17}, "reject", "AGE", ["AGE_18_60"]),
        ({"customer__age": 61, "customer__age_at_maturity": 62}, "reject", "AGE", ["AGE_18_60"]),
        ({"customer__age": 60, "customer__age_at_maturity": 64}, "refer", "AGE", ["AGE_AT_MATURITY"]),
        ({"customer__kind": "company", "customer__age": None, "customer__age_at_maturity": None}, "pass", None, []),
        ({"application__down_payment_pct": Decimal("0.15")}, "refer", "DOWN_PAYMENT", ["DOWN_PAYMENT_20"]),
        ({"application__dti": Decimal("0.55")}, "refer", "DTI", ["DTI_SOFT"]),
        ({"application__dti": Decimal("0.71")}, "reject", "DTI", ["DTI_HARD", "DTI_SOFT"]),
        ({"application__dti": None}, "refer", "DTI", ["NO_INCOME"]),
        ({"vehicle__price_in_range": False}, "refer", "PRICE", ["PRICE_IN_RANGE"]),
        ({"partner__rating": "D"}, "refer", "PARTNER", ["PARTNER_RATING_D"]),
        ({"bureau__court_records": 1}, "reject", "BUREAU_COURT", ["COURT_RECORDS"]),
        ({"bureau__max_overdue_days": 91}, "reject", "BUREAU_OVERDUE", ["SEVERE_OVERDUE"]),
        ({"bureau__overdue_count_24m": 3}, "refer", "BUREAU_OVERDUE", ["FREQUENT_OVERDUE"]),
        ({"bureau__found": False, "bureau__score": None}, "refer", "BUREAU_THIN", ["THIN_FILE", "GRADE_D"]),
        ({"fraud__customer_blacklisted": True}, "reject", "FRAUD_BLACKLIST", ["CUSTOMER_BLACKLIST"]),
        ({"fraud__watchlist_hit": True}, "reject", "FRAUD_WATCHLIST", ["INDUSTRY_WATCHLIST"]),
        ({"fraud__vin_on_live_contract": True}, "reject", "FRAUD_VIN", ["VIN_ON_LIVE_CONTRACT"]),
        ({"fraud__vin_in_open_application": True}, "refer", "FRAUD_VIN", ["VIN_IN_OPEN_APPLICATION"]),
        ({"fraud__applications_same_id_30d": 3}, "refer", "FRAUD_VELOCITY", ["MANY_APPLICATIONS_ID"]),
        ({"fraud__applications_same_mobile_30d": 4}, "refer", "FRAUD_VELOCITY", ["MANY_APPLICATIONS_MOBILE"]),
        ({"fraud__invoice_deviation": Decimal("0.31")}, "refer", "FRAUD_PRICE", ["INVOICE_FAR_FROM_REFERENCE"]),
        ({"fraud__dealer_reject_rate_30d": Decimal("0.6")}, "refer", "FRAUD_DEALER", ["DEALER_REJECT_RATE"]),
        ({"fraud__dealer_reject_rate_30d": Decimal("0.6"), "fraud__dealer_decisions_30d": 19}, "pass", None, []),
        ({"bureau__score": 500, "application__dti": Decimal("0.45"), "application__down_payment_pct": Decimal("0.2"),
          "bureau__open_loans": 4, "partner__rating": "C"}, "reject", "SCORE", ["GRADE_E"]),
    ],
)
def test_shipped_rule_set(changes, outcome, reason, rules):
    result = pre_approve(rule_set(), facts(**changes))
    assert (result.outcome, result.reason_code) == (outcome, reason)
    assert [h.rule for h in result.hits] == rules
    assert result.evaluated == len(rule_set().rules)


def test_scorecard_points_and_grade():
    scored = pre_approve(rule_set(), facts()).score
    # 500 base + 100 (score 720) + 60 (dti 0.2) + 30 (down 30%) + 20 (one loan) + 15 (rating B)
    assert scored.points == 725 and scored.grade == "A"
    assert dict((name, points) for name, _, points in scored.parts) == {
        "bureau_score": 100, "debt_to_income": 60, "down_payment": 30, "open_loans": 20, "partner_rating": 15}
    thin = pre_approve(rule_set(), facts(bureau__found=False, bureau__score=None)).score
    assert thin.points == 725 - 100 - 40 and thin.grade == "D"  # 585: D starts at 540, C at 600


def test_a_rule_that_cannot_be_evaluated_refers():
    raw = {"rule_set": "t", "version": "1", "scorecard": {"grades": [{"grade": "A", "min": 0}]},
           "rules": [{"id": "R", "outcome": "reject", "when": "application.nonexistent > 1"}]}
    result = pre_approve(parse_rule_set(raw, b"x"), facts())
    assert result.outcome == "refer" and result.hits[0].reason == "RULE_ERROR"
    assert "application.nonexistent is not a known fact" in result.hits[0].error


def test_decimal_literals_are_exact():
    raw = {"rule_set": "t", "version": "1", "scorecard": {"grades": [{"grade": "A", "min": 0}]},
           "rules": [{"id": "R", "outcome": "refer", "when": "application.dti * 3 == 0.6"}]}
    assert pre_approve(parse_rule_set(raw, b"x"), facts()).outcome == "refer"  # 0.2 * 3 == 0.6 exactly


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('true')", "application.__class__", "open('/etc/passwd')", "[x for x in (1, 2)]",
     "lambda: 1", "customer.age.real", "os.name", "application.price if True else exec('1')"],
)
def test_expressions_outside_the_subset_are_refused(expression):
    with pytest.raises(RuleSetError):
        compile_expression(expression, "test")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"version": "1"}, "needs `rule_set` and `version`"),
        ({"rule_set": "t", "version": "1", "scorecard": {"grades": [{"grade": "B", "min": 0}, {"grade": "A", "min": 10}]}}, "best first"),
        ({"rule_set": "t", "version": "1", "scorecard": {"grades": [{"grade": "A", "min": 0}]},
          "rules": [{"id": "R", "outcome": "maybe", "when": "True"}]}, "outcome must be one of"),
        ({"rule_set": "t", "version": "1", "scorecard": {"grades": [{"grade": "A", "min": 0}]},
          "rules": [{"id": "R", "outcome": "refer", "when": "True"}, {"id": "R", "outcome": "refer", "when": "True"}]}, "appears twice"),
    ],
)
def test_malformed_rule_sets_are_refused(raw, message):
    with pytest.raises(RuleSetError, match=message):
        parse_rule_set(raw, b"x")


def test_the_version_label_carries_the_content_hash(tmp_path, monkeypatch):
    from autofin import reference
    from autofin.settings import assets_dir

    (tmp_path / "rules").mkdir()
    source = (assets_dir() / "rules" / "pre_approval.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules" / "pre_approval.yaml"
    path.write_text(source, encoding="utf-8")
    monkeypatch.setenv("AUTOFIN_ASSETS_DIR", str(tmp_path))
    first = reference.rule_set()
    path.write_text(source.replace("min: 540", "min: 545"), encoding="utf-8")
    second = reference.rule_set()
    assert first.version == second.version == "2026.11"
    assert first.label != second.label
    assert yaml.safe_load(source)["version"] == "2026.11"
