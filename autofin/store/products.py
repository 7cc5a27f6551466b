"""Products in the store: `sync_products` loads product definitions as immutable versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from autofin.domain.products import ProductTerms
from autofin.store.models import Product, ProductVersion


@dataclass(frozen=True)
class SyncOutcome:
    code: str
    version: int
    action: str  # created | new_version | unchanged


def sync_products(conn: Connection, products: Mapping[str, ProductTerms]) -> list[SyncOutcome]:
    """A product whose terms differ from its latest version gets a new version; nothing is updated in place."""
    outcomes = []
    for code, terms in products.items():
        product_id = conn.execute(select(Product.product_id).where(Product.product_code == code)).scalar()
        if product_id is None:
            product_id = conn.execute(
                insert(Product).values(product_code=code, name=terms.name, business_type=terms.business_type).returning(Product.product_id)
            ).scalar_one()
        latest = conn.execute(
            select(ProductVersion.version, ProductVersion.terms_hash)
            .where(ProductVersion.product_id == product_id)
            .order_by(ProductVersion.version.desc())
            .limit(1)
        ).first()
        digest = terms.terms_hash()
        if latest is not None and latest.terms_hash == digest:
            outcomes.append(SyncOutcome(code, latest.version, "unchanged"))
            continue
        version = 1 if latest is None else latest.version + 1
        conn.execute(insert(ProductVersion).values(product_id=product_id, version=version, terms=terms.to_dict(), terms_hash=digest))
        outcomes.append(SyncOutcome(code, version, "created" if latest is None else "new_version"))
    return outcomes


def current_versions(conn: Connection) -> dict[str, tuple[int, ProductTerms]]:
    """code → (product_version_id, terms) of each product's latest version."""
    rows = conn.execute(
        select(Product.product_code, ProductVersion.product_version_id, ProductVersion.version, ProductVersion.terms)
        .join(ProductVersion, ProductVersion.product_id == Product.product_id)
        .order_by(Product.product_code, ProductVersion.version)
    ).all()
    latest: dict[str, tuple[int, ProductTerms]] = {}
    for code, version_id, _version, terms in rows:
        latest[code] = (version_id, ProductTerms.from_dict(terms))
    return latest


def latest_version(conn: Connection, code: str) -> tuple[int, ProductTerms] | None:
    """(product_version_id, terms) of one product's latest version, or None for an unknown code."""
    row = conn.execute(
        select(ProductVersion.product_version_id, ProductVersion.terms)
        .join(Product, Product.product_id == ProductVersion.product_id)
        .where(Product.product_code == code)
        .order_by(ProductVersion.version.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.product_version_id, ProductTerms.from_dict(row.terms))

