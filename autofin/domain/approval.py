"""The approval matrix (assets/rules/approval_matrix.yaml): which credit tiers review an
application, and which roles approve each post-lease exception, level by level.

Pure: `parse_matrix` validates the file once; `route` picks the tiers for one application.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from autofin.domain.errors import RuleSetError
from autofin.domain.money import D, to_minor

CREDIT_TIERS = ("credit_officer", "credit_manager", "credit_director")
POST_LEASE_KINDS = ("reversal", "refund", "balloon_extension", "collection_cost", "write_off", "deposit_offset", "deposit_refund")
POST_LEASE_ROLES = ("post_loan_supervisor", "finance_director", "credit_manager", "credit_director")
CONDITIONS = ("outcome", "grade", "business_type", "financed_from")


def tier_rank(role: str) -> int:
    """0, 1, 2 for the credit tiers; -1 for any other role."""
    return CREDIT_TIERS.index(role) if role in CREDIT_TIERS else -1


@dataclass(frozen=True)
class Route:
    when: Mapping[str, Any]
    tiers: tuple[str, ...]

    def matches(self, *, outcome: str, grade: str | None, business_type: str, financed: Decimal) -> bool:
        w = self.when
        return (
            ("outcome" not in w or outcome in w["outcome"])
            and ("grade" not in w or grade in w["grade"])
            and ("business_type" not in w or business_type in w["business_type"])
            and ("financed_from" not in w or financed >= w["financed_from"])
        )


@dataclass(frozen=True)
class ApprovalMatrix:
    version: str
    lock_minutes: int
    routes: tuple[Route, ...]
    reject_reasons: Mapping[str, str]
    post_lease: Mapping[str, tuple[str, ...]]
    # 减免: the chain of a waiver by its amount, (up to this many fen or None for the rest, chain), in order
    waiver_tiers: tuple[tuple[int | None, tuple[str, ...]], ...] = ()

    def waiver_chain(self, amount_minor: int) -> tuple[str, ...]:
        for up_to, chain in self.waiver_tiers:
            if up_to is None or amount_minor <= up_to:
                return chain
        raise AssertionError("parse_matrix guarantees a catch-all last waiver tier")

    def route(self, *, outcome: str, grade: str | None, business_type: str, financed: Decimal) -> tuple[str, ...]:
        for row in self.routes:
            if row.matches(outcome=outcome, grade=grade, business_type=business_type, financed=financed):
                return row.tiers
        raise AssertionError("parse_matrix guarantees a catch-all last route")


def parse_matrix(raw: Mapping[str, Any]) -> ApprovalMatrix:
    try:
        credit, post_lease = raw["credit"], raw["post_lease"]
        routes = []
        for n, item in enumerate(credit["routes"]):
            when = dict(item.get("when") or {})
            unknown = set(when) - set(CONDITIONS)
            if unknown:
                raise RuleSetError(f"credit.routes.{n}: unknown condition {', '.join(sorted(unknown))}; known: {', '.join(CONDITIONS)}")
            if "financed_from" in when:
                when["financed_from"] = D(str(when["financed_from"]))
            for key in ("outcome", "grade", "business_type"):
                if key in when:
                    when[key] = tuple(str(v) for v in when[key])
            tiers = tuple(item["tiers"])
            if not tiers or any(t not in CREDIT_TIERS for t in tiers) or list(tiers) != sorted(tiers, key=tier_rank) or len(set(tiers)) != len(tiers):
                raise RuleSetError(f"credit.routes.{n}.tiers: {list(tiers)} must be distinct tiers of {', '.join(CREDIT_TIERS)}, lowest first")
            routes.append(Route(when, tiers))
        if not routes or routes[-1].when:
            raise RuleSetError("credit.routes: the last route must have no conditions (it catches the rest)")
        chains = {}
        for kind in POST_LEASE_KINDS:
            chain = tuple(post_lease.get(kind) or ())
            if not chain or any(r not in POST_LEASE_ROLES for r in chain) or len(set(chain)) != len(chain):
                raise RuleSetError(f"post_lease.{kind}: distinct roles of {', '.join(POST_LEASE_ROLES)}, at least one")
            chains[kind] = chain
        reasons = {str(k): str(v) for k, v in (credit.get("reject_reasons") or {}).items()}
        if not reasons:
            raise RuleSetError("credit.reject_reasons: at least one reason code")
        lock_minutes = int(raw.get("lock_minutes", 30))
        if lock_minutes <= 0:
            raise RuleSetError("lock_minutes must be positive")
        waiver: list[tuple[int | None, tuple[str, ...]]] = []
        for n, item in enumerate(raw.get("waiver") or ()):
            waiver_chain = tuple(item.get("chain") or ())
            if not waiver_chain or any(r not in POST_LEASE_ROLES for r in waiver_chain) or len(set(waiver_chain)) != len(waiver_chain):
                raise RuleSetError(f"waiver.{n}.chain: distinct roles of {', '.join(POST_LEASE_ROLES)}, at least one")
            up_to = None if item.get("up_to") is None else to_minor(D(str(item["up_to"])))
            if waiver and (waiver[-1][0] is None or (up_to is not None and up_to <= waiver[-1][0])):
                raise RuleSetError(f"waiver.{n}.up_to: the tiers go up, and only the last has no up_to")
            waiver.append((up_to, waiver_chain))
        if not waiver or waiver[-1][0] is not None:
            raise RuleSetError("waiver: tiers by amount (up_to, in yuan), the last without up_to")
        return ApprovalMatrix(str(raw.get("version", "")), lock_minutes, tuple(routes), reasons, chains, tuple(waiver))
    except (KeyError, TypeError) as exc:
        raise RuleSetError(f"approval matrix: missing or malformed {exc}") from None
