"""autofin: the back-office core of an automotive finance company."""

__version__ = "0.1.0"
