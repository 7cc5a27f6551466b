import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from autofin.domain.products import ProductTerms
from autofin.reference import load_products
from autofin.store.models import ProductVersion
from autofin.store.products import current_versions, sync_products


def test_sync_is_idempotent_and_an_edit_makes_a_new_version(store):
    catalogue = load_products()
    with store.begin() as conn:
        assert {o.action for o in sync_products(conn, catalogue)} == {"created"}
        assert {o.action for o in sync_products(conn, catalogue)} == {"unchanged"}
        edited = dict(catalogue["NCL-ANN"].to_dict(), annual_rate="0.0699")
        outcomes = sync_products(conn, {**catalogue, "NCL-ANN": ProductTerms.from_dict(edited)})
        assert [(o.code, o.version, o.action) for o in outcomes if o.action != "unchanged"] == [("NCL-ANN", 2, "new_version")]
        assert conn.execute(select(func.count()).select_from(ProductVersion)).scalar_one() == 5
        _version_id, terms = current_versions(conn)["NCL-ANN"]
        assert str(terms.annual_rate) == "0.0699"


def test_product_versions_cannot_be_changed_in_place(store):
    with store.begin() as conn:
        sync_products(conn, load_products())
    with pytest.raises(DBAPIError, match="immutable"), store.begin() as conn:
        conn.execute(text("UPDATE product_version SET terms_hash = 'x'"))
    with pytest.raises(DBAPIError, match="immutable"), store.begin() as conn:
        conn.execute(text("DELETE FROM product_version"))


def test_terms_round_trip_through_the_canonical_form():
    for product in load_products().values():
        assert ProductTerms.from_dict(product.to_dict()) == product
