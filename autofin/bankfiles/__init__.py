"""Bank files: one module per format (render and/or parse), the bank profiles, the transports.

Formats work on plain records and bytes; they know nothing of the store. Amounts cross this
boundary as integer minor units and leave it as decimal strings in major units.
"""
