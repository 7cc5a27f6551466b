"""Pre-approval as data: a rule set and a scorecard over the facts of an application.

A rule set (assets/rules/*.yaml) has a version, a scorecard and a list of rules. Each rule is an
expression over the fact groups `application`, `customer`, `vehicle`, `partner`, `bureau`,
`fraud` and `score` (the scorecard's result), with an outcome (`reject` with a reason code, or
`refer`) taken when the expression is true. The decision is reject if any rule rejects, else
refer if any rule refers, else pass.

Expressions are a small, safe subset of Python, checked when the file is loaded: comparisons,
`and`/`or`/`not`, arithmetic, `in`, attribute access on the fact groups, literals, and the
functions `min`, `max`, `abs`. Nothing else parses (no imports, no calls to anything else, no
dunder attributes), so a rule file cannot run code. Decimal literals stay exact: `0.2` is
Decimal("0.2"). A rule that cannot be evaluated (a missing fact, a division by zero) refers the
application, with the error in its hit, rather than passing it silently.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from autofin.domain.errors import RuleSetError

FACT_GROUPS = ("application", "customer", "vehicle", "partner", "bureau", "fraud", "score")
FUNCTIONS = {"min": min, "max": max, "abs": abs}
OUTCOMES = ("reject", "refer")
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
    ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Name, ast.Attribute, ast.Load,
    ast.Constant, ast.Tuple, ast.List, ast.Call, ast.IfExp,
)


class Facts:
    """A read-only group of facts with attribute access; an unknown fact is an error, not None."""

    __slots__ = ("_group", "_values")

    def __init__(self, group: str, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_group", group)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise NameError(f"{self._group}.{name} is not a known fact") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("facts are read-only")


class _Exact(ast.NodeTransformer):
    """Float literals become exact decimals, so `0.2` means Decimal("0.2")."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, float):
            return ast.copy_location(ast.Call(ast.Name("_decimal", ast.Load()), [ast.Constant(repr(node.value))], []), node)
        return node


def compile_expression(source: str, where: str, groups: tuple[str, ...] = FACT_GROUPS) -> Any:
    """A code object for `source`, after checking it uses only the allowed subset."""
    try:
        tree = ast.parse(str(source), mode="eval")
    except SyntaxError as exc:
        raise RuleSetError(f"{where}: {source!r} is not an expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise RuleSetError(f"{where}: {type(node).__name__} is not allowed in a rule ({source!r})")
        if isinstance(node, ast.Name) and node.id not in groups and node.id not in FUNCTIONS:
            raise RuleSetError(f"{where}: unknown name {node.id!r}; use one of {', '.join(groups)}")
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or not isinstance(node.value, ast.Name)):
            raise RuleSetError(f"{where}: only group.fact attributes are allowed ({source!r})")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise RuleSetError(f"{where}: only {', '.join(FUNCTIONS)} may be called ({source!r})")
    tree = ast.fix_missing_locations(_Exact().visit(tree))
    return compile(tree, where, "eval")


def _evaluate(code: Any, namespace: Mapping[str, Any]) -> Any:
    return eval(code, {"__builtins__": {}, "_decimal": Decimal, **FUNCTIONS}, dict(namespace))


@dataclass(frozen=True)
class Band:
    when: str
    points: int
    code: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class Characteristic:
    name: str
    value: str
    bands: tuple[Band, ...]
    default: int
    value_code: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    description: str
    when: str
    outcome: str
    reason: str
    code: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: str
    sha256: str
    base_points: int
    characteristics: tuple[Characteristic, ...]
    grades: tuple[tuple[str, int], ...]  # (grade, minimum points), best first
    rules: tuple[Rule, ...]

    @property
    def label(self) -> str:
        """The version recorded on every decision: the declared version and the file's content hash."""
        return f"{self.version}+{self.sha256[:8]}"


@dataclass(frozen=True)
class RuleHit:
    rule: str
    outcome: str
    reason: str
    description: str
    error: str | None = None


@dataclass(frozen=True)
class Scored:
    points: int
    grade: str
    parts: tuple[tuple[str, Any, int], ...]  # (characteristic, value seen, points)


@dataclass(frozen=True)
class PreApproval:
    outcome: str  # pass | refer | reject
    reason_code: str | None
    score: Scored
    hits: tuple[RuleHit, ...]
    evaluated: int


def parse_rule_set(raw: Mapping[str, Any], text: bytes) -> RuleSet:
    """A rule set from its YAML mapping (`text` is the file's bytes, for its hash)."""
    name = str(raw.get("rule_set") or "")
    version = str(raw.get("version") or "")
    if not name or not version:
        raise RuleSetError("a rule set needs `rule_set` and `version`")
    card = raw.get("scorecard") or {}
    characteristics = []
    for c in card.get("characteristics", []):
        cname = str(c["name"])
        bands = tuple(
            Band(str(b["when"]), int(b["points"]), compile_expression(b["when"], f"scorecard.{cname}", ("value",)))
            for b in c.get("bands", [])
        )
        characteristics.append(
            Characteristic(cname, str(c["value"]), bands, int(c.get("default", 0)), compile_expression(c["value"], f"scorecard.{cname}.value"))
        )
    grades = tuple((str(g["grade"]), int(g["min"])) for g in card.get("grades", []))
    if not grades or [m for _, m in grades] != sorted((m for _, m in grades), reverse=True):
        raise RuleSetError("scorecard.grades must list grades best first, each with a lower `min`")
    rules = []
    seen: set[str] = set()
    for r in raw.get("rules", []):
        rule_id = str(r["id"])
        if rule_id in seen:
            raise RuleSetError(f"rule {rule_id} appears twice")
        seen.add(rule_id)
        outcome = str(r["outcome"])
        if outcome not in OUTCOMES:
            raise RuleSetError(f"rule {rule_id}: outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        rules.append(Rule(rule_id, str(r.get("description", "")), str(r["when"]), outcome, str(r.get("reason") or rule_id),
                          compile_expression(r["when"], f"rule {rule_id}")))
    return RuleSet(name, version, hashlib.sha256(text).hexdigest(), int(card.get("base", 0)), tuple(characteristics), grades, tuple(rules))


def score(rule_set: RuleSet, facts: Mapping[str, Facts]) -> Scored:
    total = rule_set.base_points
    parts = []
    for c in rule_set.characteristics:
        try:
            value = _evaluate(c.value_code, facts)
        except Exception:  # noqa: BLE001 - a fact the card cannot read scores the default
            value = None
        points = c.default
        if value is not None:
            for band in c.bands:
                if _evaluate(band.code, {"value": value}):
                    points = band.points
                    break
        total += points
        parts.append((c.name, value, points))
    grade = next((g for g, minimum in rule_set.grades if total >= minimum), rule_set.grades[-1][0])
    return Scored(total, grade, tuple(parts))


def pre_approve(rule_set: RuleSet, facts: Mapping[str, Mapping[str, Any]]) -> PreApproval:
    """Score, then run every rule; the strongest outcome wins (reject > refer > pass)."""
    groups = {name: Facts(name, values) for name, values in facts.items()}
    scored = score(rule_set, groups)
    groups["score"] = Facts("score", {"points": scored.points, "grade": scored.grade})
    hits = []
    for rule in rule_set.rules:
        try:
            if _evaluate(rule.code, groups):
                hits.append(RuleHit(rule.rule_id, rule.outcome, rule.reason, rule.description))
        except Exception as exc:  # noqa: BLE001 - an unevaluable rule refers; it never passes silently
            hits.append(RuleHit(rule.rule_id, "refer", "RULE_ERROR", rule.description, f"{type(exc).__name__}: {exc}"))
    rejects = [h for h in hits if h.outcome == "reject"]
    if rejects:
        outcome, reason = "reject", rejects[0].reason
    elif hits:
        outcome, reason = "refer", hits[0].reason
    else:
        outcome, reason = "pass", None
    return PreApproval(outcome, reason, scored, tuple(hits), len(rule_set.rules))
