"""The nightly servicing cycle: set-based steps, each a function of (connection, business date)."""
