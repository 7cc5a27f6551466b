"""The entry API reads the rows a request is about, not the book: each statement of a dealer's, a
credit officer's and finance's everyday requests is explained (SQLite), and none may scan a table
that grows with the book (the nightly cycle's rule and check, `tests/servicing/test_nightly_reads.py`).

A lookup that scans is invisible on a test's book of 40 contracts and costs 0.1 s or more a request
on a book of a million: on 12-04, looking a customer up by id number read all 1,001,992 customers."""

from datetime import timedelta

from autofin.origination.users import add_user
from autofin.store.engine import write_transaction
from tests.api.conftest import World, resident_id, vin_for
from tests.servicing.test_nightly_reads import book_scans_of, statements_kept

# the requests' reads of a table that grows with the book, by design (text the statement contains → why)
PAGES = {"WHERE contract.status = ? ORDER BY contract.contract_id DESC LIMIT ? OFFSET ?":
         "a page of the contracts in a status, newest first: the status index walked in key order, stopped at the page's end"}
SCHEDULE = {"WHERE instalment.contract_id = ? ORDER BY instalment.seq": "a contract's view shows its schedule: every instalment of it"}


def test_a_days_requests_read_no_whole_table(world: World):
    """Looking a customer up, the application from draft to contract and paid out, and what a dealer,
    a credit officer and finance read about it."""
    with statements_kept(world.engine) as seen:
        id_number = resident_id(321)
        assert world.call("GET", "/customers", "dealer_a", 200, params={"id_number": id_number}).json() == []
        customer_id = world.customer(seq=321)
        found = world.call("GET", "/customers", "dealer_a", 200, params={"id_number": id_number.lower()}).json()
        assert [c["customer_id"] for c in found] == [customer_id]
        world.call("GET", f"/customers/{customer_id}", "dealer_a", 200)
        assert customer_id in [c["customer_id"] for c in world.call("GET", "/customers", "dealer_a", 200).json()]
        assert customer_id not in [c["customer_id"] for c in world.call("GET", "/customers", "dealer_b", 200).json()]
        assert world.call("GET", "/vehicles", "dealer_a", 200, params={"vin": vin_for("VW-SAGITAR", 1)}).json() == []
        contract_no = world.active(customer_id=customer_id)
        for path in ("/applications?status=approved", "/approval-tasks", "/disbursements", f"/contracts/{contract_no}",
                     *(f"/contracts/{contract_no}/{what}" for what in ("receipts", "vouchers", "mandates", "settlement-quote")),
                     "/contracts?status=active"):
            world.call("GET", path, "finance", 200)
        for path in ("/applications", "/contracts", "/vehicles", f"/contracts/{contract_no}", f"/partners/{world.dealer_a}"):
            world.call("GET", path, "dealer_a", 200)
    assert len(seen) > 100
    offenders = book_scans_of(world.engine, seen, by_design=PAGES, every_instalment_of=SCHEDULE)
    assert offenders == {}, "\n".join(f"{k}\n    {v}" for k, v in offenders.items())


def test_a_collectors_day_reads_no_whole_table(world: World):
    """The cases the night opened: the queue by its filters, a case assigned, worked (a call, a promise)
    and read again, by the supervisor and the collector."""
    from tests.api.test_collections import TODAY, step

    step(world, "delinquency", TODAY)
    with write_transaction(world.engine) as conn:
        world.tokens["collector1"] = add_user(conn, "collector1", "collector")[1]
    with statements_kept(world.engine) as seen:
        queue = world.call("GET", "/collection-cases", "post_loan_supervisor", 200, params={"assignee": "none"}).json()
        case_id = queue[0]["case_id"]
        for params in ({"bucket": "M1"}, {"group": "EARLY"}, {"assignee": "collector1"}, {"status": "closed"}):
            world.call("GET", "/collection-cases", "post_loan_supervisor", 200, params=params)
        world.call("POST", f"/collection-cases/{case_id}/assign", "post_loan_supervisor", 200, json={"username": "collector1"})
        assert [c["case_id"] for c in world.call("GET", "/collection-cases", "collector1", 200, params={"assignee": "me"}).json()] == [case_id]
        world.call("POST", f"/collection-cases/{case_id}/contacts", "collector1", 201, json={"kind": "call", "outcome": "PTP"})
        world.call("POST", f"/collection-cases/{case_id}/promises", "collector1", 201,
                   json={"amount": "1000.00", "promised_date": (TODAY + timedelta(days=2)).isoformat()})
        world.call("GET", f"/collection-cases/{case_id}", "collector1", 200)
        world.call("GET", "/collection-cases", "dealer_a", 200)
    assert len(seen) > 30
    offenders = book_scans_of(world.engine, seen, every_instalment_of=SCHEDULE)
    assert offenders == {}, "\n".join(f"{k}\n    {v}" for k, v in offenders.items())
