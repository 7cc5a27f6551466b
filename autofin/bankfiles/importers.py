"""The banks' answers this system reads: one importer per format (after beangulp's importers).

`identify` tells from a file's first bytes whether it is the importer's format; `parse` reads it
into records, an ISO 20022 message only after it has passed its official schema. `read_answer`
picks nothing itself: given the file's importer it checks the file against the bank's profile
(ISO or domestic, the collection account) and returns the records. The store is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from autofin.bankfiles import camt, cn_text, pain002, schemas
from autofin.bankfiles.profiles import BankProfile
from autofin.bankfiles.records import BankFileError, Statement, StatusReport
from autofin.bankfiles.xml import document_of

Answer = StatusReport | Statement
HEAD_BYTES = 4096
UNKNOWN_XML = "xml"  # the kind recorded for an XML file no importer identifies


def _is_xml(head: bytes) -> bool:
    return head.startswith(b"<") or head.startswith(b"\xef\xbb\xbf<")


@dataclass(frozen=True)
class Importer:
    kind: str
    apply_order: int  # statuses, then settlements, then statements: whatever the files are called
    iso: bool
    root_element: bytes | None  # the message's root element (ISO), None for the domestic text format
    read: Callable[[bytes | etree._Element], Answer]

    def identify(self, head: bytes) -> bool:
        head = head[:HEAD_BYTES]
        return self.root_element in head if self.root_element is not None else not _is_xml(head)

    def parse(self, data: bytes) -> Answer:
        if not self.iso:
            return self.read(data)
        document = document_of(data)  # parsed once: validated, then read
        schemas.validate(document)
        return self.read(document)


IMPORTERS: tuple[Importer, ...] = (
    Importer("pain.002", 0, True, b"CstmrPmtStsRpt", pain002.parse),
    Importer("camt.054", 1, True, b"BkToCstmrDbtCdtNtfctn", camt.parse_camt054),
    Importer("camt.053", 2, True, b"BkToCstmrStmt", camt.parse_camt053),
    Importer("cn_text_result", 0, False, None, cn_text.parse_result),
)


def identify(head: bytes) -> Importer | None:
    """The importer of a file, from its first bytes; None for XML of a kind this system does not read."""
    return next((importer for importer in IMPORTERS if importer.identify(head)), None)


def apply_order(head: bytes) -> int:
    """Where a file comes in the night's order of answers; a file no importer reads comes last."""
    importer = identify(head)
    return len(IMPORTERS) if importer is None else importer.apply_order


def kind_of(importer: Importer | None) -> str:
    return UNKNOWN_XML if importer is None else importer.kind


def read_answer(profile: BankProfile, importer: Importer | None, data: bytes) -> Answer:
    """The file's records, checked against its schema and the bank's profile."""
    if importer is None:
        raise BankFileError("XML of a kind this system does not read (expected pain.002, camt.054 or camt.053)")
    if profile.is_iso and not importer.iso:
        raise BankFileError(f"{profile.code} sends ISO 20022 files; this is not one")
    if not profile.is_iso and importer.iso:
        raise BankFileError(f"{profile.code} sends its domestic result files; this is {importer.kind}")
    content = importer.parse(data)
    if content.account is not None and content.account != profile.creditor.account:
        raise BankFileError(f"the file is about account {content.account[:40]}, not {profile.code}'s collection account {profile.creditor.account}")
    return content
