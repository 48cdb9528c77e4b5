"""Japan Post tracking lookups, normalised: plain Python domain (see issue 3)."""
