"""Bank profiles (assets/banks/*.yaml): format, creditor identity, limits, re-presentation, transport."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autofin.bankfiles.records import Creditor, PaymentAccount

FORMATS = ("pain.008.001.08", "pain.008.001.02", "cn_text")
PAYOUT_FORMATS = ("pain.001.001.09", "pain.001.001.03")


@dataclass(frozen=True)
class PayoutSettings:
    """The bank we pay out through (credit transfers): the file format and our paying account there."""

    format: str
    payer: PaymentAccount
    max_transactions_per_file: int


@dataclass(frozen=True)
class SftpSettings:
    host: str
    port: int
    username: str
    key_path: str
    host_key: str  # "<type> <base64>", pinned: any other key refuses the connection
    outbound_dir: str
    inbound_dir: str
    archive_dir: str
    retries: int = 4
    backoff_seconds: float = 1.0


@dataclass(frozen=True)
class BankProfile:
    code: str
    name: str
    format: str
    currency: str
    creditor: Creditor
    max_transactions_per_file: int
    cutoff: str
    representment_reasons: frozenset[str]
    max_attempts: int
    representment_after_days: int
    transport: str  # local | sftp
    sftp: SftpSettings | None
    payouts: PayoutSettings | None = None

    @property
    def is_iso(self) -> bool:
        return self.format.startswith("pain.008")

    @property
    def file_suffix(self) -> str:
        return ".xml" if self.is_iso else ".txt"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BankProfile:
        code = str(raw["code"])
        if raw["format"] not in FORMATS:
            raise ValueError(f"bank {code}: format {raw['format']!r} is not one of {', '.join(FORMATS)}")
        transport = raw.get("transport", {})
        kind = transport.get("kind", "local")
        if kind not in ("local", "sftp"):
            raise ValueError(f"bank {code}: transport kind {kind!r} is not local or sftp")
        sftp = SftpSettings(**transport["sftp"]) if transport.get("sftp") else None
        if kind == "sftp" and sftp is None:
            raise ValueError(f"bank {code}: sftp transport needs its sftp settings")
        limit = int(raw["max_transactions_per_file"])
        if limit <= 0:
            raise ValueError(f"bank {code}: max_transactions_per_file must be positive")
        rep = raw.get("representment", {})
        payouts = None
        if raw.get("payouts"):
            p = raw["payouts"]
            if p.get("format") not in PAYOUT_FORMATS:
                raise ValueError(f"bank {code}: payouts format {p.get('format')!r} is not one of {', '.join(PAYOUT_FORMATS)}")
            payouts = PayoutSettings(p["format"], PaymentAccount(str(raw["creditor"]["name"]), str(p["account"]), str(p["agent"])),
                                     int(p.get("max_transactions_per_file", 5000)))
            if payouts.max_transactions_per_file <= 0:
                raise ValueError(f"bank {code}: payouts max_transactions_per_file must be positive")
        return cls(
            code=code,
            name=str(raw["name"]),
            format=raw["format"],
            currency=str(raw.get("currency", "CNY")),
            creditor=Creditor(**{k: str(v) for k, v in raw["creditor"].items()}),
            max_transactions_per_file=limit,
            cutoff=str(raw.get("cutoff", "16:00")),
            representment_reasons=frozenset(rep.get("reasons", [])),
            max_attempts=int(rep.get("max_attempts", 1)),
            representment_after_days=int(rep.get("after_days", 1)),
            transport=kind,
            sftp=sftp,
            payouts=payouts,
        )


def load_profiles(folder: Path) -> dict[str, BankProfile]:
    from autofin.reference import read_yaml

    profiles = {}
    for path in sorted(folder.glob("*.yaml")):
        profile = BankProfile.from_dict(read_yaml(path))
        profiles[profile.code] = profile
    return profiles


def paying_bank(profiles: dict[str, BankProfile]) -> BankProfile:
    """The one bank whose profile says `payouts`: every payout leaves through it."""
    paying = [p for p in profiles.values() if p.payouts is not None]
    if len(paying) != 1:
        raise ValueError(f"{len(paying)} bank profiles have a payouts section ({', '.join(p.code for p in paying) or 'none'}); "
                         "exactly one pays out")
    return paying[0]
