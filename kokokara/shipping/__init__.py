"""The service edge, in folders by who uses it.

- here: the light client a checkout team installs alone (`pip install kokokara-shipping`): the
  generated stubs (`v1/`), `client.ShippingClient` and `connect` (channels, keys, TLS);
- `server/`: the server (composition root, settings, servicers, interceptors, workers) and its quote
  fast path (`server/fast/`), installed with the `server` extra;
- `cli/`: the command line for operators and analysts (charts and Parquet need the `analysis` extra).
"""
