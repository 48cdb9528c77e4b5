"""Plain-Python building blocks shared by the rate, tracking and label domains (no gRPC, no I/O)."""
