"""The synthetic demo book (a legacy migration, made up deterministically) and its summary."""
