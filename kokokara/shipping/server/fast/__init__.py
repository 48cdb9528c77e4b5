"""The quote fast path: the compiled quote kernel (_quotekernel.pyx), what it is configured with
(fastquote.py) and the wire encoding of quote answers (wire.py). It decides nothing of its own:
the quote engine in rates/ does, and the kernel is compiled from its data."""
