"""Generated gRPC and Connect stubs for kokokara.shipping.v1: never edit, run `make proto`."""
