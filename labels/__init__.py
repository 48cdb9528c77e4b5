"""Shipping labels: S10 allocation, customs checks and documents (see issue 4)."""
