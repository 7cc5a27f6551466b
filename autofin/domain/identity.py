"""Identity numbers: PRC resident id (GB 11643), unified social credit code (GB 32100),
mainland mobile numbers, and vehicle identification numbers (ISO 3779).

Check digits are computed here (the synthetic book makes valid numbers with them); tests hold
them equal to python-stdnum's. Resident ids are checked for length, check digit, a real birth
date and a known area code. stdnum's own `ric.validate` is not used: its table of area codes
starts in 1983 and it refuses anyone born in a district before the district is in its table
(every Hangzhou resident born before 1983, for instance), which real ids do not obey.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from autofin.domain.errors import InputError
from autofin.domain.text import ascii_only

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=False)),
    **dict(zip("JKLMN", range(1, 6), strict=False)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=False)),
}
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def ric_check_digit(first17: str) -> str:
    return RIC_CHECK[sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=False)) % 11]


def validate_resident_id(value: str, field: str = "id_number", *, today: date | None = None) -> tuple[str, date]:
    """A valid 18-character resident id and the birth date it carries."""
    number = ascii_only((value or "").strip().upper(), field, "a resident id")
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InputError(field, "not a valid PRC resident id: 17 digits and a check character (0-9 or X)")
    if number[17] != ric_check_digit(number[:17]):
        raise InputError(field, f"not a valid PRC resident id: check character is {number[17]}, expected {ric_check_digit(number[:17])}")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InputError(field, f"not a valid PRC resident id: {number[6:14]} is not a date of birth") from None
    if birth.year < 1900 or (today is not None and birth > today):
        raise InputError(field, f"not a valid PRC resident id: born {birth.isoformat()}?")
    if not _known_area(number[:6]):
        raise InputError(field, f"not a valid PRC resident id: unknown area code {number[:6]}")
    return number, birth


def _known_area(code: str) -> bool:
    from stdnum import numdb

    return any("county" in props for _part, props in numdb.get("cn/loc").info(code))


def uscc_check_digit(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str, field: str = "id_number") -> str:
    ascii_only(value or "", field, "a unified social credit code")
    try:
        return uscc.validate(value)
    except ValidationError as exc:
        raise InputError(field, f"not a valid unified social credit code: {exc}") from None


def validate_mobile(value: str, field: str = "mobile") -> str:
    number = re.sub(r"[\s-]", "", ascii_only(value or "", field, "a mobile number"))
    if number.startswith("+86"):
        number = number[3:]
    if not MOBILE.match(number):
        raise InputError(field, "not a mainland mobile number (11 digits starting 13–19)")
    return number


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 / FMVSS 115 check digit (position 9) of a 17-character VIN."""
    total = sum(VIN_VALUES[c] * w for c, w in zip(vin.upper(), VIN_WEIGHTS, strict=False))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_vin_check_digit(draft: str) -> str:
    """The 17-character `draft` with its position 9 replaced by the check digit of the rest."""
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def validate_vin(value: str, field: str = "vin") -> str:
    vin = ascii_only((value or "").strip().upper(), field, "a VIN")
    if len(vin) != 17:
        raise InputError(field, f"a VIN has 17 characters, got {len(vin)}")
    bad = sorted({c for c in vin if c not in VIN_VALUES})
    if bad:
        raise InputError(field, f"a VIN cannot contain {', '.join(bad)} (I, O and Q are never used)")
    if vin[8] != vin_check_digit(vin):
        raise InputError(field, f"check digit is {vin[8]}, expected {vin_check_digit(vin)}")
    return vin


def mask_id(value: str) -> str:
    """Personal data in reports and logs: keep the first 3 and last 4 characters."""
    return value if len(value) <= 7 else value[:3] + "*" * (len(value) - 7) + value[-4:]
