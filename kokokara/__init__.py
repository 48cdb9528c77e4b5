"""KOKOKARA namespace."""
