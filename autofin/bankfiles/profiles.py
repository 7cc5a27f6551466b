"""Bank profiles (assets/banks/*.yaml): format, creditor identity, limits, re-presentation, transport."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autofin.bankfiles.records import Creditor

FORMATS = ("pain.008.001.08", "pain.008.001.02", "cn_text")


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
        )


def load_profiles(folder: Path) -> dict[str, BankProfile]:
    import yaml

    profiles = {}
    for path in sorted(folder.glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            profile = BankProfile.from_dict(yaml.safe_load(fh))
        profiles[profile.code] = profile
    return profiles
