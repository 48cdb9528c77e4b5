"""Japan Post rate tables and the quote engine: plain Python, no gRPC and no I/O on the request path."""
