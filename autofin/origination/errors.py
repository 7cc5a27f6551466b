"""Errors of the origination services, beside the domain's InputError (422) and TransitionError (409)."""

from __future__ import annotations


class NotFound(Exception):
    """The object does not exist, or is outside the caller's data scope (the two look the same)."""

    def __init__(self, entity: str, key: object):
        self.entity = entity
        super().__init__(f"{entity} {key} not found")


class Forbidden(Exception):
    """The caller's role or partner may not do this."""


class Conflict(Exception):
    """The request collides with the state of the store (a duplicate, a lock, a limit)."""
