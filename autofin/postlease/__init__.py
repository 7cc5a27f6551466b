"""Post-lease (贷后) operations through the API: payments entered by hand and corporate settlements,
early settlement, and the exceptions that need an approval chain (reversal, refund, balloon extension)."""
