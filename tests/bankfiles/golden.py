"""Golden files in tests/fixtures/. AUTOFIN_REGEN_GOLDEN=1 rewrites them (review the diff before committing)."""

import os
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def assert_golden(data: bytes, name: str) -> None:
    golden = FIXTURES / name
    if os.environ.get("AUTOFIN_REGEN_GOLDEN") == "1":
        golden.write_bytes(data)
    assert golden.exists(), f"{golden} is missing: run with AUTOFIN_REGEN_GOLDEN=1 to create it"
    assert data == golden.read_bytes(), f"{name} differs from the golden file (AUTOFIN_REGEN_GOLDEN=1 to accept)"
