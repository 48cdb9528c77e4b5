"""The HTTP side: every v1 RPC as JSON (or binary protobuf) over HTTP/1.1 and HTTP/2 through the
Connect protocol, and the console for support staff and analysts (docs/http.md)."""
