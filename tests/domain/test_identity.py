import random

import pytest
from stdnum.cn import ric, uscc

from autofin.domain.errors import InputError
from autofin.domain.identity import (
    USCC_ALPHABET,
    mask_id,
    ric_check_digit,
    uscc_check_digit,
    validate_mobile,
    validate_resident_id,
    validate_uscc,
    validate_vin,
    vin_check_digit,
    with_vin_check_digit,
)


def test_resident_id_check_digit_agrees_with_stdnum():
    rng = random.Random(1)
    for _ in range(500):
        first17 = "110105" + f"{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + f"{rng.randint(0, 999):03d}"
        assert ric.is_valid(first17 + ric_check_digit(first17))


def test_uscc_check_digit_agrees_with_stdnum():
    rng = random.Random(2)
    for _ in range(500):
        first17 = "91" + "110105" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        assert uscc.is_valid(first17 + uscc_check_digit(first17))


@pytest.mark.parametrize(
    ("vin", "valid"),
    [
        ("1M8GDM9AXKP042788", True),  # the textbook example (check digit X)
        ("11111111111111111", True),
        ("1M8GDM9A1KP042788", False),
        ("1M8GDM9AXKP04278", False),
        ("1M8GDM9AXKP04278O", False),
    ],
)
def test_vin(vin, valid):
    if valid:
        assert validate_vin(vin) == vin
    else:
        with pytest.raises(InputError) as err:
            validate_vin(vin)
        assert err.value.field == "vin"


def test_vin_check_digit_position_nine():
    assert vin_check_digit("1M8GDM9A_KP042788".replace("_", "0")) == "X"


@pytest.mark.parametrize("draft, vin", [("1M8GDM9A0KP042788", "1M8GDM9AXKP042788"), ("1M8GDM9A7KP042788", "1M8GDM9AXKP042788"),
                                        ("LFVBNCH00RB000001", "LFVBNCH0" + vin_check_digit("LFVBNCH00RB000001") + "RB000001")])
def test_a_draft_vin_gets_its_check_digit_at_position_nine_whatever_was_there(draft, vin):
    assert with_vin_check_digit(draft) == vin
    assert validate_vin(with_vin_check_digit(draft)) == vin


def test_resident_id_gives_birth_date_and_refuses_bad_ones():
    _number, birth = validate_resident_id("11010519491231002X")
    assert birth.isoformat() == "1949-12-31"
    with pytest.raises(InputError, match="check character"):
        validate_resident_id("110105194912310021")
    with pytest.raises(InputError, match="date of birth"):
        validate_resident_id("11010519490230002" + ric_check_digit("11010519490230002"))
    # born in Hangzhou's Xihu district before 1983: real, and accepted (stdnum's ric.validate refuses it)
    first17 = "33010619800101002"
    assert validate_resident_id(first17 + ric_check_digit(first17))[1].year == 1980
    with pytest.raises(InputError, match="area code"):
        validate_resident_id("99999919800101002" + ric_check_digit("99999919800101002"))
    with pytest.raises(InputError):
        validate_uscc("91110000600037341A")
    assert validate_uscc("91110000600037341L")


def test_mobile_and_masking():
    assert validate_mobile("+86 138-0013-8000") == "13800138000"
    with pytest.raises(InputError, match="mobile"):
        validate_mobile("12800138000")
    assert mask_id("11010519491231002X") == "110***********002X"
    assert mask_id("13800138000") == "138****8000"
