"""The server: composition root (bootstrap), settings, servicers, interceptors, keys and limits,
workers and their supervisor, metrics, logs. Imported by server.py, never by the client."""
