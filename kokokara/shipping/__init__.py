"""The service edge: generated stubs (v1/), servicers, composition root, command line and Python client."""
