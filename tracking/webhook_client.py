"""The one HTTP call of webhooks: POST a signed body to an endpoint.

Checked again at every delivery, not only when the endpoint was created: the host name is resolved
now and, unless private addresses are allowed, every address it resolves to must be public; the
connection then goes to the address that was checked (TLS still verifies the name), so a name that
resolves to a public address at the check and to 169.254.169.254 at the connect (DNS rebinding)
cannot reach the inside. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlsplit

from domain.errors import FieldViolation, InvalidArgument
from tracking.watch import check_webhook_url, refused_address
from tracking.watch_service import WebhookError


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._ssl_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)


class WebhookClient:
    def __init__(self, *, allow_private: bool = False, timeout_seconds: float = 10.0):
        self._allow_private = allow_private
        self._timeout = timeout_seconds
        self._context = ssl.create_default_context()

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to, checked; InvalidArgument when it may not receive webhooks."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise WebhookError(f"cannot resolve the endpoint's host: {error.strerror or error}") from None
        addresses = [str(info[4][0]) for info in infos]
        if not self._allow_private:
            for address in addresses:
                why = refused_address(address)
                if why:
                    raise InvalidArgument([FieldViolation("url", f"resolves to {why}; not sent")], reason="WEBHOOK_ADDRESS_FORBIDDEN")
        return addresses[0]

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        scheme, host, port = check_webhook_url(url, allow_private=self._allow_private)
        address = self.resolve(host, port)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = _PinnedHTTPSConnection(host, address, port, self._timeout, self._context)
        else:
            conn = http.client.HTTPConnection(address, port, timeout=self._timeout)
        try:
            conn.request("POST", target, body=body, headers={**headers, "Host": parts.netloc})
            response = conn.getresponse()
            response.read(64 * 1024)  # a little, so the connection closes cleanly; never kept or logged
            return int(response.status)
        except (OSError, http.client.HTTPException) as error:
            raise WebhookError(f"no answer from the endpoint: {type(error).__name__}") from None
        finally:
            conn.close()
