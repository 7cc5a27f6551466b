"""Bank files: one module per format (render and/or parse), the bank profiles, the transports.

Formats work on plain records and bytes; they know nothing of the store. Amounts cross this
boundary as integer minor units and leave it as decimal strings in major units. The answers the
banks send are read through `importers.py`: one importer per format (identify, parse), so the
cycle's bank step (servicing/banking.py) knows no format.
"""
