"""Shipping labels: S10 allocation, customs checks and documents."""
