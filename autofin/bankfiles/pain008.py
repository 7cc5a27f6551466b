"""ISO 20022 pain.008 (customer direct debit initiation): render, and parse (the bank simulator reads it).

pain.008.001.08 by default, pain.008.001.02 for banks on the old version. One payment
information block per file; NbOfTxs and CtrlSum at group and block level. Chinese accounts have
no IBAN: they go in Othr/Id, and banks are named by BIC where they have one.
"""

from __future__ import annotations

from datetime import date, datetime

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError, Creditor, DebitFile, DebitInstruction, refusing_bad_values
from autofin.bankfiles.xml import document_of, escaped, escaper, first, required, tables, timestamp

VERSIONS = ("pain.008.001.08", "pain.008.001.02")

def render(batch: DebitFile, version: str = "pain.008.001.08") -> bytes:
    """The file as text written directly (escaped), laid out as lxml pretty-prints it: several times
    faster than building a tree, and the golden file, both third-party XSDs and the round trip hold
    it to the same bytes."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported version {version}; known: {', '.join(VERSIONS)}")
    if not batch.instructions:
        raise ValueError("a debit file needs at least one instruction")
    currency = batch.instructions[0].currency
    bic = "BICFI" if version.endswith(".08") else "BIC"
    total = write_amount(batch.total_minor, currency)
    c, e = batch.creditor, escaped
    head = (
        f"<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}">\n'
        f"  <CstmrDrctDbtInitn>\n"
        f"    <GrpHdr>\n"
        f"      <MsgId>{e(batch.message_id)}</MsgId>\n"
        f"      <CreDtTm>{timestamp(batch.created_at)}</CreDtTm>\n"
        f"      <NbOfTxs>{batch.count}</NbOfTxs>\n"
        f"      <CtrlSum>{total}</CtrlSum>\n"
        f"      <InitgPty>\n        <Nm>{e(c.name)}</Nm>\n      </InitgPty>\n"
        f"    </GrpHdr>\n"
        f"    <PmtInf>\n"
        f"      <PmtInfId>{e(batch.message_id)}-1</PmtInfId>\n"
        f"      <PmtMtd>DD</PmtMtd>\n"
        f"      <NbOfTxs>{batch.count}</NbOfTxs>\n"
        f"      <CtrlSum>{total}</CtrlSum>\n"
        f"      <PmtTpInf>\n        <LclInstrm>\n          <Prtry>CNDD</Prtry>\n        </LclInstrm>\n        <SeqTp>RCUR</SeqTp>\n      </PmtTpInf>\n"
        f"      <ReqdColltnDt>{batch.collection_date.isoformat()}</ReqdColltnDt>\n"
        f"      <Cdtr>\n        <Nm>{e(c.name)}</Nm>\n      </Cdtr>\n"
        f"      <CdtrAcct>\n        <Id>\n          <Othr>\n            <Id>{e(c.account)}</Id>\n          </Othr>\n        </Id>\n      </CdtrAcct>\n"
        f"      <CdtrAgt>\n        <FinInstnId>\n          <{bic}>{e(c.agent)}</{bic}>\n        </FinInstnId>\n      </CdtrAgt>\n"
        f"      <CdtrSchmeId>\n        <Id>\n          <PrvtId>\n            <Othr>\n              <Id>{e(c.scheme_id)}</Id>\n"
        f"              <SchmeNm>\n                <Prtry>CNDD</Prtry>\n              </SchmeNm>\n            </Othr>\n          </PrvtId>\n"
        f"        </Id>\n      </CdtrSchmeId>\n"
    )
    esc = escaper(v for tx in batch.instructions for v in (tx.end_to_end_id, tx.currency, tx.mandate_ref, tx.debtor_name, tx.debtor_account,
                                                           tx.remittance))
    # each transaction formatted as bytes, its values encoded one by one: a str holding a Chinese name
    # is stored two bytes a character, so the whole file built as text cost twice as much to build
    # and to encode (4.0 → 2.3 µs a transaction)
    parts = [head.encode("utf-8")]
    parts += [
        _TRANSACTION % (esc(tx.end_to_end_id).encode(), esc(tx.currency).encode(), write_amount(tx.amount_minor, tx.currency).encode(),
                        esc(tx.mandate_ref).encode(), tx.mandate_signed.isoformat().encode(), esc(tx.debtor_name).encode(),
                        esc(tx.debtor_account).encode(), esc(tx.remittance).encode())
        for tx in batch.instructions
    ]
    parts.append(b"    </PmtInf>\n  </CstmrDrctDbtInitn>\n</Document>\n")
    return b"".join(parts)


_TRANSACTION = (
    b"      <DrctDbtTxInf>\n"
    b"        <PmtId>\n          <EndToEndId>%s</EndToEndId>\n        </PmtId>\n"
    b'        <InstdAmt Ccy="%s">%s</InstdAmt>\n'
    b"        <DrctDbtTx>\n          <MndtRltdInf>\n            <MndtId>%s</MndtId>\n"
    b"            <DtOfSgntr>%s</DtOfSgntr>\n          </MndtRltdInf>\n        </DrctDbtTx>\n"
    b"        <DbtrAgt>\n          <FinInstnId>\n            <Othr>\n              <Id>NOTPROVIDED</Id>\n            </Othr>\n"
    b"          </FinInstnId>\n        </DbtrAgt>\n"
    b"        <Dbtr>\n          <Nm>%s</Nm>\n        </Dbtr>\n"
    b"        <DbtrAcct>\n          <Id>\n            <Othr>\n              <Id>%s</Id>\n            </Othr>\n"
    b"          </Id>\n        </DbtrAcct>\n"
    b"        <RmtInf>\n          <Ustrd>%s</Ustrd>\n        </RmtInf>\n"
    b"      </DrctDbtTxInf>\n"
)


TX = ("PmtId/EndToEndId", "InstdAmt", "InstdAmt/@Ccy", "DrctDbtTx/MndtRltdInf/MndtId", "DrctDbtTx/MndtRltdInf/DtOfSgntr", "Dbtr/Nm",
      "DbtrAcct/Id/Othr/Id", "RmtInf/Ustrd")


@refusing_bad_values
def parse(data: bytes) -> DebitFile:
    root = document_of(data)
    head, pmt, rows = tables(root, ("CstmrDrctDbtInitn", ("GrpHdr/MsgId", "GrpHdr/CreDtTm", "GrpHdr/NbOfTxs", "GrpHdr/CtrlSum")),
                             ("CstmrDrctDbtInitn/PmtInf", ("ReqdColltnDt", "Cdtr/Nm", "CdtrAcct/Id/Othr/Id", "CdtrAgt/FinInstnId/BICFI",
                                                           "CdtrAgt/FinInstnId/BIC", "CdtrSchmeId/Id/PrvtId/Othr/Id")),
                             ("CstmrDrctDbtInitn/PmtInf/DrctDbtTxInf", TX))
    message_id, created, count, total = first(head, "pain.008 document")
    if len(pmt) != 1:
        raise BankFileError(f"pain.008 with {len(pmt)} PmtInf blocks; one per file is read")
    collected, name, account, bicfi, bic, scheme = pmt[0]
    creditor = Creditor(required(name, "Cdtr/Nm"), required(account, "CdtrAcct/Id/Othr/Id"), required(bicfi or bic, "CdtrAgt/FinInstnId/BIC"),
                        required(scheme, "CdtrSchmeId/Id/PrvtId/Othr/Id"))
    instructions = []
    for e2e, amount, currency, mandate, signed, debtor, debtor_account, remittance in rows:
        if not currency:
            raise BankFileError("InstdAmt without Ccy")
        instructions.append(
            DebitInstruction(
                end_to_end_id=required(e2e, "PmtId/EndToEndId"),
                amount_minor=read_amount(amount, currency, "InstdAmt"),
                currency=currency,
                mandate_ref=required(mandate, "DrctDbtTx/MndtRltdInf/MndtId"),
                mandate_signed=date.fromisoformat(required(signed, "DrctDbtTx/MndtRltdInf/DtOfSgntr")),
                debtor_name=required(debtor, "Dbtr/Nm"),
                debtor_account=required(debtor_account, "DbtrAcct/Id/Othr/Id"),
                remittance=remittance or "",
            )
        )
    batch = DebitFile(
        message_id=required(message_id, "GrpHdr/MsgId"),
        created_at=datetime.fromisoformat(required(created, "GrpHdr/CreDtTm")),
        collection_date=date.fromisoformat(required(collected, "ReqdColltnDt")),
        creditor=creditor,
        instructions=tuple(instructions),
    )
    currency = instructions[0].currency if instructions else "CNY"
    if int(required(count, "GrpHdr/NbOfTxs")) != batch.count or read_amount(total, currency, "CtrlSum") != batch.total_minor:
        raise BankFileError("group header NbOfTxs/CtrlSum do not match the transactions")
    return batch
