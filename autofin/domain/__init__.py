"""Pure domain logic: no I/O, no database, no clock. Everything here is exact (Decimal or integer minor units)."""
