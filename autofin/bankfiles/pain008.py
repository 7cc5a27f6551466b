"""ISO 20022 pain.008 (customer direct debit initiation): render, and parse (the bank simulator reads it).

pain.008.001.08 by default, pain.008.001.02 for banks on the old version. One payment
information block per file; NbOfTxs and CtrlSum at group and block level. Chinese accounts have
no IBAN: they go in Othr/Id, and banks are named by BIC where they have one.
"""

from __future__ import annotations

from datetime import date, datetime

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError, Creditor, DebitFile, DebitInstruction
from autofin.bankfiles.xml import document, find, findall, group_header, parse_xml, path, serialise, sub, text_of

VERSIONS = ("pain.008.001.08", "pain.008.001.02")

def render(batch: DebitFile, version: str = "pain.008.001.08") -> bytes:
    if version not in VERSIONS:
        raise ValueError(f"unsupported version {version}; known: {', '.join(VERSIONS)}")
    if not batch.instructions:
        raise ValueError("a debit file needs at least one instruction")
    currency = batch.instructions[0].currency
    bic_tag = "BICFI" if version.endswith(".08") else "BIC"
    root = document(version)
    init = sub(root, "CstmrDrctDbtInitn")
    hdr = group_header(init, batch.message_id, batch.created_at)
    sub(hdr, "NbOfTxs", str(batch.count))
    sub(hdr, "CtrlSum", write_amount(batch.total_minor, currency))
    sub(path(hdr, "InitgPty"), "Nm", batch.creditor.name)

    pmt = sub(init, "PmtInf")
    sub(pmt, "PmtInfId", f"{batch.message_id}-1")
    sub(pmt, "PmtMtd", "DD")
    sub(pmt, "NbOfTxs", str(batch.count))
    sub(pmt, "CtrlSum", write_amount(batch.total_minor, currency))
    tp = sub(pmt, "PmtTpInf")
    sub(path(tp, "LclInstrm"), "Prtry", "CNDD")
    sub(tp, "SeqTp", "RCUR")
    sub(pmt, "ReqdColltnDt", batch.collection_date.isoformat())
    sub(path(pmt, "Cdtr"), "Nm", batch.creditor.name)
    sub(path(pmt, "CdtrAcct", "Id", "Othr"), "Id", batch.creditor.account)
    sub(path(pmt, "CdtrAgt", "FinInstnId"), bic_tag, batch.creditor.agent)
    othr = path(pmt, "CdtrSchmeId", "Id", "PrvtId", "Othr")
    sub(othr, "Id", batch.creditor.scheme_id)
    sub(path(othr, "SchmeNm"), "Prtry", "CNDD")
    for tx in batch.instructions:
        el = sub(pmt, "DrctDbtTxInf")
        sub(path(el, "PmtId"), "EndToEndId", tx.end_to_end_id)
        sub(el, "InstdAmt", write_amount(tx.amount_minor, tx.currency), Ccy=tx.currency)
        mandate = path(el, "DrctDbtTx", "MndtRltdInf")
        sub(mandate, "MndtId", tx.mandate_ref)
        sub(mandate, "DtOfSgntr", tx.mandate_signed.isoformat())
        sub(path(el, "DbtrAgt", "FinInstnId", "Othr"), "Id", "NOTPROVIDED")
        sub(path(el, "Dbtr"), "Nm", tx.debtor_name)
        sub(path(el, "DbtrAcct", "Id", "Othr"), "Id", tx.debtor_account)
        sub(path(el, "RmtInf"), "Ustrd", tx.remittance)
    return serialise(root)

def parse(data: bytes) -> DebitFile:
    root = parse_xml(data)
    init = find(root, "CstmrDrctDbtInitn")
    if init is None:
        raise BankFileError("not a pain.008 document")
    pmt = find(init, "PmtInf")
    if pmt is None:
        raise BankFileError("pain.008 without PmtInf")
    agent = text_of(pmt, "CdtrAgt/FinInstnId/BICFI", required=False) or text_of(pmt, "CdtrAgt/FinInstnId/BIC")
    creditor = Creditor(text_of(pmt, "Cdtr/Nm"), text_of(pmt, "CdtrAcct/Id/Othr/Id"), agent, text_of(pmt, "CdtrSchmeId/Id/PrvtId/Othr/Id"))
    instructions = []
    for el in findall(pmt, "DrctDbtTxInf"):
        amt = find(el, "InstdAmt")
        currency = amt.get("Ccy") if amt is not None else None
        if not currency:
            raise BankFileError("InstdAmt without Ccy")
        instructions.append(
            DebitInstruction(
                end_to_end_id=text_of(el, "PmtId/EndToEndId"),
                amount_minor=read_amount(amt.text, currency, "InstdAmt"),
                currency=currency,
                mandate_ref=text_of(el, "DrctDbtTx/MndtRltdInf/MndtId"),
                mandate_signed=date.fromisoformat(text_of(el, "DrctDbtTx/MndtRltdInf/DtOfSgntr")),
                debtor_name=text_of(el, "Dbtr/Nm"),
                debtor_account=text_of(el, "DbtrAcct/Id/Othr/Id"),
                remittance=text_of(el, "RmtInf/Ustrd", required=False) or "",
            )
        )
    batch = DebitFile(
        message_id=text_of(init, "GrpHdr/MsgId"),
        created_at=datetime.fromisoformat(text_of(init, "GrpHdr/CreDtTm")),
        collection_date=date.fromisoformat(text_of(pmt, "ReqdColltnDt")),
        creditor=creditor,
        instructions=tuple(instructions),
    )
    currency = instructions[0].currency if instructions else "CNY"
    if int(text_of(init, "GrpHdr/NbOfTxs")) != batch.count or read_amount(text_of(init, "GrpHdr/CtrlSum"), currency, "CtrlSum") != batch.total_minor:
        raise BankFileError("group header NbOfTxs/CtrlSum do not match the transactions")
    return batch
