"""The Dagster code location of autofin: the nightly cycle as daily-partitioned assets."""
