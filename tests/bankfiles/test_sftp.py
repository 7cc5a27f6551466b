"""SFTP against a real OpenSSH server on loopback: pinned host key, temp-then-rename, no double
sends, retries when the server is down, and a cycle day whose files cross it."""

import getpass
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest

from autofin.bankfiles.profiles import SftpSettings
from autofin.bankfiles.simulator import simulate
from autofin.bankfiles.transport import SftpTransport, TransportError, transport_for
from autofin.reference import bank_profiles, calendar, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_day
from tests.servicing.conftest import AS_OF, seed
from tests.support.sshd import make_server


@pytest.fixture(scope="module")
def sftp_server():
    server = make_server()
    server.start()
    yield server
    server.stop()


def profile_for(server, tmp_path, host_key=None, retries=3):
    remote = tmp_path / "bank"
    for d in ("upload", "download", "download/archive"):
        (remote / d).mkdir(parents=True, exist_ok=True)
    settings = SftpSettings(host="127.0.0.1", port=server.port, username=getpass.getuser(), key_path=str(server.client_key),
                            host_key=host_key or server.host_key_line, outbound_dir=str(remote / "upload"),
                            inbound_dir=str(remote / "download"), archive_dir=str(remote / "download/archive"),
                            retries=retries, backoff_seconds=0.05)
    return replace(bank_profiles()["BOC"], transport="sftp", sftp=settings), remote


def test_upload_list_download_archive(sftp_server, tmp_path):
    profile, remote = profile_for(sftp_server, tmp_path)
    t = SftpTransport(profile)
    assert t.put("A.xml", b"<a/>") is True
    assert (remote / "upload" / "A.xml").read_bytes() == b"<a/>"
    assert not list((remote / "upload").glob(".*"))  # no temporary file left behind
    assert t.put("A.xml", b"<a/>") is False  # the bank has it already: not sent twice
    (remote / "download" / "R.xml").write_bytes(b"<r/>")
    assert t.list_inbound() == ["R.xml"]
    assert t.get("R.xml") == b"<r/>"
    t.archive("R.xml")
    assert (remote / "download" / "archive" / "R.xml").exists() and t.list_inbound() == []


def test_an_unknown_host_key_refuses_to_connect(sftp_server, tmp_path):
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN5ig0J5bAx0Rw0cQ1S6nK7eQm4h3E2e0qXxWb8gGQ0f"
    profile, remote = profile_for(sftp_server, tmp_path, host_key=other)
    with pytest.raises(TransportError, match="host key"):
        SftpTransport(profile).put("A.xml", b"<a/>")
    assert not (remote / "upload" / "A.xml").exists()


def test_server_down_then_back(sftp_server, tmp_path):
    profile, _remote = profile_for(sftp_server, tmp_path, retries=2)
    sftp_server.stop()
    try:
        with pytest.raises(TransportError, match="after 2 attempts"):
            SftpTransport(profile).put("A.xml", b"<a/>")
    finally:
        sftp_server.start()
    assert SftpTransport(profile).put("A.xml", b"<a/>") is True


def test_a_cycle_day_over_sftp(sftp_server, tmp_path, sqlite_store):
    seed(sqlite_store, contracts=500)
    profile, remote = profile_for(sftp_server, tmp_path)
    root = tmp_path / "bank_files"
    ctx = StepContext(calendar=calendar(), templates=voucher_templates(), banks={"BOC": profile}, bank_root=root,
                      transport_for=partial(transport_for, bank_root=root), export_dir=tmp_path / "exports")
    d = AS_OF + timedelta(days=1)
    while d <= date(2026, 11, 23):
        run_day(sqlite_store, d, ctx)
        d += timedelta(days=1)
    assert (remote / "upload" / "AFBOC20261123001.xml").exists()
    simulate(profile, Path("/"), date(2026, 11, 23), seed=5)  # the SFTP settings hold absolute folders
    results = {r.step: r.counts for r in run_day(sqlite_store, date(2026, 11, 24), ctx)}
    assert results["bank_returns"]["fetched"] == 3 and not results["bank_returns"]["quarantined"]
    assert results["allocation"]["receipts"] == results["bank_returns"]["settled"] > 0
    assert sorted(p.name for p in (remote / "download" / "archive").iterdir()) == [
        "AFBOC20261123001.camt054.xml", "AFBOC20261123001.pain002.xml", "STMBOC20261123.camt053.xml"]


def test_the_server_down_during_the_upload_step_then_back(sftp_server, tmp_path, sqlite_store):
    """The night's upload meets a dead server: the step fails whole (no order marked sent, the day
    stays open); with the server back the same day runs on and every order is sent exactly once."""
    from sqlalchemy import text

    from autofin.bankfiles import pain008

    seed(sqlite_store, contracts=500)
    profile, remote = profile_for(sftp_server, tmp_path, retries=2)
    root = tmp_path / "bank_files"
    ctx = StepContext(calendar=calendar(), templates=voucher_templates(), banks={"BOC": profile}, bank_root=root,
                      transport_for=partial(transport_for, bank_root=root), export_dir=tmp_path / "exports")
    d = AS_OF + timedelta(days=1)
    while d < date(2026, 11, 23):
        run_day(sqlite_store, d, ctx)
        d += timedelta(days=1)
    sftp_server.stop()
    try:
        with pytest.raises(TransportError, match="after 2 attempts"):
            run_day(sqlite_store, date(2026, 11, 23), ctx)
    finally:
        sftp_server.start()
    with sqlite_store.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM debit_order WHERE status = 'sent'")).scalar_one() == 0
        assert conn.execute(text("SELECT status FROM business_day WHERE business_date = '2026-11-23'")).scalar_one() == "open"
    assert not any((remote / "upload").iterdir())
    run_day(sqlite_store, date(2026, 11, 23), ctx)  # the server is back: the same day goes on from the upload
    run_day(sqlite_store, date(2026, 11, 23), ctx)  # and again: nothing more is sent
    files = sorted(p for p in (remote / "upload").iterdir())
    assert [p.name for p in files] == ["AFBOC20261123001.xml"]
    sent = [i.end_to_end_id for i in pain008.parse(files[0].read_bytes()).instructions]
    with sqlite_store.connect() as conn:
        ids = conn.execute(text("SELECT end_to_end_id FROM debit_order WHERE status = 'sent'")).scalars().all()
        assert conn.execute(text("SELECT status FROM business_day WHERE business_date = '2026-11-23'")).scalar_one() == "closed"
    assert sorted(ids) == sorted(sent) and len(set(sent)) == len(sent) > 0
