"""The reference files (assets/*.yaml) are read by one loader: libyaml's safe one. It must read
what the pure-Python safe loader reads, and refuse what it refuses."""

from datetime import date

import pytest
import yaml

from autofin.reference import parse_yaml
from autofin.settings import assets_dir


@pytest.mark.parametrize(("source", "expected"), [
    ("a: 汽车金融\nb: [1, 2026-11-20, '0.15', 0.15]", {"a": "汽车金融", "b": [1, date(2026, 11, 20), "0.15", 0.15]}),
    ("\ufeffk: v".encode(), {"k": "v"}),  # a byte-order mark, as an editor on Windows saves it
    ("- {code: PRE3, days: 3}\n- {code: OD3, days: 3}", [{"code": "PRE3", "days": 3}, {"code": "OD3", "days": 3}]),
    ("", None),
])
def test_it_reads_plain_data(source, expected):
    assert parse_yaml(source) == expected


@pytest.mark.parametrize("source", [
    "!!python/object/apply:os.system ['true']",  # a tag that would run code
    "!!python/name:os.system",
    "a: [1, 2",  # not YAML at all
])
def test_it_refuses_what_the_safe_loader_refuses(source):
    with pytest.raises(yaml.YAMLError):
        parse_yaml(source)


def test_every_reference_file_reads_as_the_pure_python_safe_loader_reads_it():
    files = sorted(assets_dir().rglob("*.yaml"))
    assert len(files) > 5
    for path in files:
        text = path.read_bytes()
        assert parse_yaml(text) == yaml.safe_load(text), path
