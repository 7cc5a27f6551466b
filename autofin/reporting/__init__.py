"""Reports: the book summary and trial balance (text), later the warehouse export and Excel pack."""
