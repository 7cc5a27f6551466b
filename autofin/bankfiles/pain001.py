"""ISO 20022 pain.001 (customer credit transfer initiation): render, and parse (the bank simulator reads it).

pain.001.001.09 by default, pain.001.001.03 for banks on the old version. The payouts of a night
(disbursements split by payee, refunds) leave as one payment information block per file, paid
from the company's paying account; NbOfTxs and CtrlSum at group and block level. Chinese accounts
have no IBAN: they go in Othr/Id, and the payee's bank is named (FinInstnId/Nm).
"""

from __future__ import annotations

from datetime import date, datetime

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError, CreditTransfer, PaymentAccount, PayoutFile, refusing_bad_values
from autofin.bankfiles.xml import document_of, escaped, first, required, tables, timestamp

VERSIONS = ("pain.001.001.09", "pain.001.001.03")


def render(batch: PayoutFile, version: str = "pain.001.001.09") -> bytes:
    """The file as text written directly (escaped), laid out as lxml pretty-prints it, like pain.008."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported version {version}; known: {', '.join(VERSIONS)}")
    if not batch.transfers:
        raise ValueError("a payout file needs at least one transfer")
    currency = batch.transfers[0].currency
    if any(t.currency != currency for t in batch.transfers):
        raise ValueError("one currency per payout file")
    new = version.endswith(".09")
    bic = "BICFI" if new else "BIC"
    executed = (f"<ReqdExctnDt>\n        <Dt>{batch.execution_date.isoformat()}</Dt>\n      </ReqdExctnDt>" if new
                else f"<ReqdExctnDt>{batch.execution_date.isoformat()}</ReqdExctnDt>")
    total = write_amount(batch.total_minor, currency)
    a, e = batch.debtor, escaped
    parts = [
        f"<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}">\n'
        f"  <CstmrCdtTrfInitn>\n"
        f"    <GrpHdr>\n"
        f"      <MsgId>{e(batch.message_id)}</MsgId>\n"
        f"      <CreDtTm>{timestamp(batch.created_at)}</CreDtTm>\n"
        f"      <NbOfTxs>{batch.count}</NbOfTxs>\n"
        f"      <CtrlSum>{total}</CtrlSum>\n"
        f"      <InitgPty>\n        <Nm>{e(a.name)}</Nm>\n      </InitgPty>\n"
        f"    </GrpHdr>\n"
        f"    <PmtInf>\n"
        f"      <PmtInfId>{e(batch.message_id)}-1</PmtInfId>\n"
        f"      <PmtMtd>TRF</PmtMtd>\n"
        f"      <NbOfTxs>{batch.count}</NbOfTxs>\n"
        f"      <CtrlSum>{total}</CtrlSum>\n"
        f"      {executed}\n"
        f"      <Dbtr>\n        <Nm>{e(a.name)}</Nm>\n      </Dbtr>\n"
        f"      <DbtrAcct>\n        <Id>\n          <Othr>\n            <Id>{e(a.account)}</Id>\n          </Othr>\n        </Id>\n      </DbtrAcct>\n"
        f"      <DbtrAgt>\n        <FinInstnId>\n          <{bic}>{e(a.agent)}</{bic}>\n        </FinInstnId>\n      </DbtrAgt>\n"
        f"      <ChrgBr>DEBT</ChrgBr>\n"
    ]
    for t in batch.transfers:
        parts.append(
            f"      <CdtTrfTxInf>\n"
            f"        <PmtId>\n          <EndToEndId>{e(t.end_to_end_id)}</EndToEndId>\n        </PmtId>\n"
            f'        <Amt>\n          <InstdAmt Ccy="{e(t.currency)}">{write_amount(t.amount_minor, t.currency)}</InstdAmt>\n        </Amt>\n'
            f"        <CdtrAgt>\n          <FinInstnId>\n            <Nm>{e(t.creditor_bank)}</Nm>\n          </FinInstnId>\n        </CdtrAgt>\n"
            f"        <Cdtr>\n          <Nm>{e(t.creditor_name)}</Nm>\n        </Cdtr>\n"
            f"        <CdtrAcct>\n          <Id>\n            <Othr>\n              <Id>{e(t.creditor_account)}</Id>\n            </Othr>\n"
            f"          </Id>\n        </CdtrAcct>\n"
            f"        <RmtInf>\n          <Ustrd>{e(t.remittance)}</Ustrd>\n        </RmtInf>\n"
            f"      </CdtTrfTxInf>\n"
        )
    parts.append("    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>\n")
    return "".join(parts).encode("utf-8")


TX = ("PmtId/EndToEndId", "Amt/InstdAmt", "Amt/InstdAmt/@Ccy", "Cdtr/Nm", "CdtrAcct/Id/Othr/Id", "CdtrAgt/FinInstnId/Nm", "RmtInf/Ustrd")


@refusing_bad_values
def parse(data: bytes) -> PayoutFile:
    root = document_of(data)
    head, pmt, rows = tables(root, ("CstmrCdtTrfInitn", ("GrpHdr/MsgId", "GrpHdr/CreDtTm", "GrpHdr/NbOfTxs", "GrpHdr/CtrlSum")),
                             ("CstmrCdtTrfInitn/PmtInf", ("ReqdExctnDt", "Dbtr/Nm", "DbtrAcct/Id/Othr/Id", "DbtrAgt/FinInstnId/BICFI",
                                                          "DbtrAgt/FinInstnId/BIC")),
                             ("CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf", TX))
    message_id, created, count, total = first(head, "pain.001 document")
    if len(pmt) != 1:
        raise BankFileError(f"pain.001 with {len(pmt)} PmtInf blocks; one per file is read")
    executed, name, account, bicfi, bic = pmt[0]  # ReqdExctnDt's text: its date (.03) or its Dt's (.09)
    debtor = PaymentAccount(required(name, "Dbtr/Nm"), required(account, "DbtrAcct/Id/Othr/Id"), required(bicfi or bic, "DbtrAgt/FinInstnId/BIC"))
    transfers = []
    for e2e, amount, currency, creditor, creditor_account, bank, remittance in rows:
        if not currency:
            raise BankFileError("InstdAmt without Ccy")
        transfers.append(CreditTransfer(
            end_to_end_id=required(e2e, "PmtId/EndToEndId"), amount_minor=read_amount(amount, currency, "InstdAmt"), currency=currency,
            creditor_name=required(creditor, "Cdtr/Nm"), creditor_account=required(creditor_account, "CdtrAcct/Id/Othr/Id"),
            creditor_bank=bank or "", remittance=remittance or ""))
    batch = PayoutFile(message_id=required(message_id, "GrpHdr/MsgId"), created_at=datetime.fromisoformat(required(created, "GrpHdr/CreDtTm")),
                       execution_date=date.fromisoformat(required(executed, "ReqdExctnDt")), debtor=debtor, transfers=tuple(transfers))
    currency = transfers[0].currency if transfers else "CNY"
    if int(required(count, "GrpHdr/NbOfTxs")) != batch.count or read_amount(total, currency, "CtrlSum") != batch.total_minor:
        raise BankFileError("group header NbOfTxs/CtrlSum do not match the transactions")
    return batch
