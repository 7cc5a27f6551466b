"""The notification adapter: reminders and notices leave the system here.

`Notifier.send` takes the night's messages and answers, for each it accepted, the provider's
reference. Each message carries a key that stays the same when a night is run again (rule,
contract, reference date): a provider that keeps keys sends a message once however often the
step is re-run. `LocalOutbox` is the simulator: it writes each night's messages to
<data>/outbox/<business date>/<rule>.jsonl and the letters as one print file beside them (letters.pdf), overwriting
what a killed run left, so a re-run leaves the same files. An SMS or e-mail provider plugs in as
another class with the same `send`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from autofin.files import write_atomically


@dataclass(frozen=True)
class Message:
    key: str  # rule:contract_id:ref_date, the same on a re-run
    rule_code: str
    channel: str  # sms | email | letter
    recipient: str | None
    contract_no: str
    body: str
    letter_page: int | None = None  # a letter: its first page in the night's print file


# one encoder for every line (json.dumps with an argument builds one a call: 77k reminders a night at 1M)
_JSON_LINE = json.JSONEncoder(ensure_ascii=False).encode


class Notifier(Protocol):
    def send(self, business_date: date, messages: Sequence[Message], letters: bytes | None = None) -> dict[str, str]:
        """key → provider reference, for each message accepted (a message left out has failed).
        `letters`: the night's letters as one print file (PDF), each message of channel letter
        naming its first page."""
        ...


class LocalOutbox:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, business_date: date, messages: Sequence[Message], letters: bytes | None = None) -> dict[str, str]:
        day = self.folder / business_date.isoformat()
        day.mkdir(parents=True, exist_ok=True)
        if letters is not None:
            write_atomically(day / "letters.pdf", letters)
        by_rule: dict[str, list[Message]] = {}
        for m in messages:
            by_rule.setdefault(m.rule_code, []).append(m)
        accepted = {}
        for rule, batch in sorted(by_rule.items()):
            lines = []
            for m in batch:
                if m.recipient is None:
                    continue  # nowhere to send it: left out, so it is marked failed
                record = {"key": m.key, "channel": m.channel, "to": m.recipient, "contract_no": m.contract_no, "body": m.body}
                if m.letter_page is not None:
                    record["letter"] = f"letters.pdf#page={m.letter_page}"
                lines.append(_JSON_LINE(record))
                accepted[m.key] = f"outbox:{business_date.isoformat()}:{m.key}"
            write_atomically(day / f"{rule}.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")
        return accepted
