"""Post-lease parameters and rules (assets/collections.yaml), pure.

`parse_collections` validates the file once. The rules the workbench and the nightly step apply:
which group a case goes to (`CollectionSetup.group_for`) and which member (`deal`), whether
a promise to pay is kept (`promise_outcome`), whether a reminder of a night run late has lapsed
(`reminder_lapses`), an agency's commission on what was recovered
(`commission_minor`), the allowance a bucket needs (`provision_minor`), and how the proceeds of a
repossessed vehicle's sale divide (`split_proceeds`). The store's set-based steps follow these;
the tests hold them to tables of cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from autofin.domain.errors import RuleSetError
from autofin.domain.money import PPM, D, div_round_half_up, to_minor

BUCKETS = ("current", "M1", "M2", "M3", "M4+")
STAGES = ("soft", "outsourced", "legal", "repossession", "disposal", "written_off")
CHANNELS = ("sms", "email", "letter")
ASSIGNMENT_CONDITIONS = ("buckets", "regions", "partners", "arrears_from")


def rate_ppm(value: Any, where: str) -> int:
    """A rate between 0 and 1 with at most six places, as integer millionths."""
    rate = D(str(value))
    if not D(0) <= rate <= D(1) or rate * PPM != int(rate * PPM):
        raise RuleSetError(f"{where}: {value!r} is not a rate between 0 and 1 with at most six decimal places")
    return int(rate * PPM)


@dataclass(frozen=True)
class AssignmentRule:
    when: Mapping[str, Any]
    group: str

    def matches(self, *, bucket: str, region: str | None, partner_code: str, arrears_minor: int) -> bool:
        w = self.when
        return (
            ("buckets" not in w or bucket in w["buckets"])
            and ("regions" not in w or region in w["regions"])
            and ("partners" not in w or partner_code in w["partners"])
            and ("arrears_from" not in w or arrears_minor >= w["arrears_from"])
        )


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    commission_rate_ppm: int
    max_days: int


@dataclass(frozen=True)
class Reminder:
    code: str
    when: str  # before_due | overdue
    days: int
    channel: str
    text: str


@dataclass(frozen=True)
class CollectionSetup:
    version: str
    stages: Mapping[str, str]
    statuses: Mapping[str, str]
    categories: Mapping[str, str]
    contact_kinds: tuple[str, ...]
    outcomes: Mapping[str, str]
    groups: Mapping[str, tuple[str, ...]]  # code → member usernames
    group_names: Mapping[str, str]
    assignment: tuple[AssignmentRule, ...]
    agencies: Mapping[str, Agency]
    repossession_agents: Mapping[str, str]
    cost_categories: Mapping[str, str]
    reminders: tuple[Reminder, ...]
    provisioning_ppm: Mapping[str, int]  # bucket → rate

    def group_for(self, *, bucket: str, region: str | None, partner_code: str, arrears_minor: int) -> str:
        for rule in self.assignment:
            if rule.matches(bucket=bucket, region=region, partner_code=partner_code, arrears_minor=arrears_minor):
                return rule.group
        raise AssertionError("parse_collections guarantees a catch-all last rule")


def deal_order(members: Sequence[str], open_cases: Mapping[str, int]) -> list[str]:
    """The members in the order new cases are dealt to them: fewest open cases first, ties in the order listed."""
    if not members:
        raise RuleSetError("a collection group has no members")
    return sorted(members, key=lambda m: (open_cases.get(m, 0), members.index(m)))


def deal(members: Sequence[str], open_cases: Mapping[str, int], n: int) -> list[str]:
    """Who gets each of n new cases (largest arrears first): dealt round the members in deal_order."""
    order = deal_order(members, open_cases)
    return [order[k % len(order)] for k in range(n)]


def promise_outcome(*, amount_minor: int, paid_minor: int, promised_date: date, today: date) -> str:
    """A promise is kept once the money paid since it was made reaches the amount promised, on or
    before the promised date; broken once that date has passed without it; open until then."""
    if paid_minor >= amount_minor:
        return "kept"
    return "broken" if today > promised_date else "open"


def reminder_lapses(rule: Reminder, night: date, today: date, rules: Sequence[Reminder]) -> bool:
    """Whether the reminders `rule` gives on the night of `night` have lapsed when that night runs
    on `today` (a night runs on time the day after it; a catch-up runs it later): a before-due
    message once its due date has passed; an overdue message once the night of a later overdue
    rule for the same arrears has ended, since the catch-up runs that night too and its message
    says more. A letter (the default notice, a formal step) never lapses, nor does the last
    overdue rule. Never on time: a rule's days are positive and a later rule's are more."""
    if rule.channel == "letter":
        return False
    if rule.when == "before_due":
        return night + timedelta(days=rule.days) < today
    later = next_overdue_days(rule, rules)
    return later is not None and night + timedelta(days=later - rule.days) < today


def next_overdue_days(rule: Reminder, rules: Sequence[Reminder]) -> int | None:
    """The days past due of the next overdue rule after `rule` (whose reminder says more), if any:
    another rule on the same day is not a later one."""
    return min((r.days for r in rules if r.when == "overdue" and r.days > rule.days), default=None)


def commission_minor(recovered_minor: int, rate_ppm_: int) -> int:
    """The agency's commission on an amount recovered, rounded half up to the fen (one rounding per day and assignment)."""
    return div_round_half_up(recovered_minor * rate_ppm_, PPM)


def provision_minor(exposure_minor: int, rate_ppm_: int) -> int:
    return div_round_half_up(exposure_minor * rate_ppm_, PPM)


@dataclass(frozen=True)
class ProceedsSplit:
    costs_recovered_minor: int  # back to collection costs already paid
    to_contract_minor: int  # a receipt the waterfall applies (what is beyond the bills becomes customer credit)


def split_proceeds(proceeds_minor: int, unrecovered_costs_minor: int) -> ProceedsSplit:
    """The sale of a repossessed vehicle first recovers the collection costs paid for it; the rest is
    paid to the contract (applied by its waterfall; any surplus is the customer's credit)."""
    if proceeds_minor < 0 or unrecovered_costs_minor < 0:
        raise ValueError("proceeds and costs are not negative")
    costs = min(proceeds_minor, unrecovered_costs_minor)
    return ProceedsSplit(costs, proceeds_minor - costs)


def render(text: str, values: Mapping[str, Any]) -> str:
    """A reminder's text with its {placeholders} filled; an unknown placeholder is refused when the file is read."""
    return text.format_map(dict(values))


REMINDER_FIELDS = {"before_due": ("contract_no", "seq", "amount", "due_date"), "overdue": ("contract_no", "dpd", "arrears")}


def _codes(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not raw:
        raise RuleSetError(f"{where}: a mapping of codes to names, at least one")
    return {str(k): str(v) for k, v in raw.items()}


def parse_collections(raw: Mapping[str, Any]) -> CollectionSetup:
    try:
        stages = _codes({k: (v or {}).get("name", k) for k, v in raw["stages"].items()}, "stages")
        if tuple(stages) != STAGES:
            raise RuleSetError(f"stages: exactly {', '.join(STAGES)} in this order (the code moves cases between them)")
        groups, names = {}, {}
        for n, g in enumerate(raw["groups"]):
            members = tuple(str(m) for m in g.get("members") or ())
            if not members:
                raise RuleSetError(f"groups.{n}: group {g.get('code')} has no members")
            groups[str(g["code"])] = members
            names[str(g["code"])] = str(g.get("name", g["code"]))
        rules = []
        for n, item in enumerate(raw["assignment"]):
            when = dict(item.get("when") or {})
            unknown = set(when) - set(ASSIGNMENT_CONDITIONS)
            if unknown:
                raise RuleSetError(f"assignment.{n}: unknown condition {', '.join(sorted(unknown))}; known: {', '.join(ASSIGNMENT_CONDITIONS)}")
            if "arrears_from" in when:
                when["arrears_from"] = to_minor(D(str(when["arrears_from"])))
            for key in ("buckets", "regions", "partners"):
                if key in when:
                    when[key] = tuple(str(v) for v in when[key])
            bad = [b for b in when.get("buckets", ()) if b not in BUCKETS[1:]]
            if bad:
                raise RuleSetError(f"assignment.{n}.buckets: {', '.join(bad)} is not a past-due bucket ({', '.join(BUCKETS[1:])})")
            if str(item["group"]) not in groups:
                raise RuleSetError(f"assignment.{n}: group {item['group']} is not among groups")
            rules.append(AssignmentRule(when, str(item["group"])))
        if not rules or rules[-1].when:
            raise RuleSetError("assignment: the last rule must have no conditions (it catches the rest)")
        agencies = {}
        for n, a in enumerate(raw["agencies"]):
            max_days = int(a["max_days"])
            if max_days <= 0:
                raise RuleSetError(f"agencies.{n}.max_days: a positive number of days")
            agencies[str(a["code"])] = Agency(str(a["code"]), str(a["name"]), rate_ppm(a["commission_rate"], f"agencies.{n}.commission_rate"),
                                              max_days)
        reminders = []
        for n, r in enumerate(raw.get("reminders") or ()):
            reminder = Reminder(str(r["code"]), str(r["when"]), int(r["days"]), str(r["channel"]), str(r["text"]))
            if reminder.when not in REMINDER_FIELDS:
                raise RuleSetError(f"reminders.{n}.when: before_due or overdue")
            if reminder.channel not in CHANNELS:
                raise RuleSetError(f"reminders.{n}.channel: one of {', '.join(CHANNELS)}")
            if reminder.days <= 0:
                raise RuleSetError(f"reminders.{n}.days: a positive number of days")
            try:
                render(reminder.text, dict.fromkeys(REMINDER_FIELDS[reminder.when], ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise RuleSetError(f"reminders.{n}.text: placeholders are {', '.join(REMINDER_FIELDS[reminder.when])} ({exc})") from None
            reminders.append(reminder)
        if len({r.code for r in reminders}) != len(reminders):
            raise RuleSetError("reminders: codes appear twice")
        provisioning = {str(b): rate_ppm(v, f"provisioning.{b}") for b, v in raw["provisioning"].items()}
        if set(provisioning) != set(BUCKETS):
            raise RuleSetError(f"provisioning: a rate for each bucket: {', '.join(BUCKETS)}")
        return CollectionSetup(
            version=str(raw["version"]), stages=stages, statuses=_codes(raw["statuses"], "statuses"),
            categories=_codes(raw["categories"], "categories"), contact_kinds=tuple(str(k) for k in raw["contact_kinds"]),
            outcomes=_codes(raw["outcomes"], "outcomes"), groups=groups, group_names=names, assignment=tuple(rules), agencies=agencies,
            repossession_agents=_codes({str(a["code"]): a["name"] for a in raw["repossession_agents"]}, "repossession_agents"),
            cost_categories=_codes(raw["cost_categories"], "cost_categories"), reminders=tuple(reminders), provisioning_ppm=provisioning)
    except (KeyError, TypeError) as exc:
        raise RuleSetError(f"collections: missing or malformed {exc}") from None


def as_decimal_rate(ppm: int) -> Decimal:
    return D(ppm) / PPM
