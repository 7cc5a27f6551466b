"""Domain errors. Each names the rule it enforces; input errors name the field."""


class DomainError(Exception):
    """Base of every rule the domain enforces."""


class InputError(DomainError, ValueError):
    """A value given from outside breaks a rule. `field` names it, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class FloatMoneyError(DomainError, TypeError):
    """A binary float came near an amount or a rate."""


class CurrencyMismatchError(DomainError):
    """Two amounts in different currencies were combined."""


class InexactAmountError(DomainError):
    """An amount has more decimals than its currency's minor unit, or a rate more than six."""


class CalendarCoverageError(DomainError):
    """A date falls outside the years the business calendar covers."""


class UnknownAccountError(DomainError):
    """A voucher template names an account that the chart of accounts does not have."""


class UnbalancedTemplateError(DomainError):
    """A voucher template's debits and credits do not balance for every amount component."""


class UnknownComponentError(DomainError):
    """A voucher template uses an amount component that money events do not carry."""


class NegativePostingError(DomainError):
    """A template line would post a negative amount for this event."""


class UnknownEventTypeError(DomainError):
    """A money event has a type with no voucher template."""


class TransitionError(DomainError):
    """A status change that the object's lifecycle does not allow from its current status."""

    def __init__(self, entity: str, current: str, target: str, allowed: tuple[str, ...]) -> None:
        self.entity = entity
        self.current = current
        self.target = target
        self.allowed = allowed
        to = ", ".join(allowed) if allowed else "nothing (final)"
        super().__init__(f"{entity} is {current}; it cannot become {target} (from {current} it can become: {to})")


class RuleSetError(DomainError):
    """A rule set or scorecard file is malformed: an unknown name, a forbidden construct, a bad outcome."""
