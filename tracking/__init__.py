"""Japan Post tracking lookups, normalised: plain Python domain."""
