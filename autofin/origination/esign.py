"""E-signature (电子签章): the provider interface and a local simulator.

A provider signs a document identified by its sha256 for a signer and answers with its own
reference and the signing time; the contract keeps the document hash, signer, time and method.
Production wires a real provider (e.g. a CA-backed signing service) behind the same interface.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from autofin.domain.errors import InputError

METHODS = ("sms_otp", "face_verification")


@dataclass(frozen=True)
class SignatureResult:
    provider: str
    provider_ref: str
    signed_at: datetime


class SignatureProvider(Protocol):
    def sign(self, *, document_sha256: str, signer_name: str, signer_id_number: str, method: str, otp: str | None,
             now: datetime) -> SignatureResult: ...


class SimulatedSignatures:
    """Accepts any six-digit one-time code except 000000 (the simulator's wrong code); the reference
    is derived from the document and the signer, so signing the same document twice is visible."""

    name = "simulator"

    def sign(self, *, document_sha256: str, signer_name: str, signer_id_number: str, method: str, otp: str | None,
             now: datetime) -> SignatureResult:
        if method not in METHODS:
            raise InputError("method", f"one of {', '.join(METHODS)}")
        if method == "sms_otp" and (otp is None or len(otp) != 6 or not otp.isdigit() or otp == "000000"):
            raise InputError("otp", "the one-time code was not accepted")
        ref = hashlib.sha256(f"{document_sha256}:{signer_id_number}".encode()).hexdigest()[:24]
        return SignatureResult(self.name, f"SIM-{ref}", now)
