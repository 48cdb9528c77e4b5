"""API keys and roles: who may call what.

A key looks like `kks_<id>_<secret>`. The keys file (SHIPPING_API_KEYS_FILE, JSON) holds for each
key only its id, a random salt and HMAC-SHA256(salt, key), with the caller's name and role: the
key itself is shown once, by `kokokara-shipping keys add`, and never stored. A presented key is
found by its id and checked with a constant-time compare, so a request costs one HMAC.

Roles (ROLE_RPCS): checkout (quotes), warehouse (labels and tracking), support (tracking, and labels
without what they say of people: see reads_label_contents),
analyst (rate tables and quotes), operator (webhook endpoints, dead deliveries, the event log),
admin (everything, including RPCs not listed here).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.errors import StartupError

RATES = "/kokokara.shipping.v1.RateService/"
LABELS = "/kokokara.shipping.v1.LabelService/"
TRACKING = "/kokokara.shipping.v1.TrackingService/"

# Packing plans are the checkout's too: it plans the cart it quotes.
QUOTE_RPCS = frozenset({RATES + "GetQuote", RATES + "BatchGetQuotes", RATES + "PlanShipment"})
TABLE_RPCS = frozenset(RATES + m for m in ("ListRateTables", "GetRateTable", "ListDestinations", "CompareRates", "DiffRateTables", "DiffAcceptance"))
LABEL_RPCS = frozenset(LABELS + m for m in ("CreateLabel", "GetLabel", "ListLabels", "VoidLabel", "GetManifest"))
# Support staff answering "where is my parcel?" see the label issued under a number (product, status,
# ship date, price, destination), but not names, addresses, phones or customs contents.
LABEL_READ_RPCS = frozenset(LABELS + m for m in ("GetLabel", "ListLabels"))
TRACKING_RPCS = frozenset(
    TRACKING + m for m in ("GetTracking", "BatchGetTracking", "WatchTracking", "WatchParcel", "UnwatchParcel", "ListWatchedParcels", "ListTrackingEvents")
)
# Webhook endpoints receive every watched parcel's events: only operators (and admins) manage them.
WEBHOOK_RPCS = frozenset(TRACKING + m for m in ("CreateWebhookEndpoint", "ListWebhookEndpoints", "DeleteWebhookEndpoint", "ListDeadDeliveries"))

ROLE_RPCS: dict[str, frozenset[str]] = {
    "checkout": QUOTE_RPCS,
    "warehouse": LABEL_RPCS | TRACKING_RPCS,
    "support": TRACKING_RPCS | LABEL_READ_RPCS,
    "analyst": TABLE_RPCS | QUOTE_RPCS,
    "operator": WEBHOOK_RPCS | frozenset({TRACKING + "ListTrackingEvents", TRACKING + "ListWatchedParcels"}),
}
ADMIN = "admin"
ROLES = (*ROLE_RPCS, ADMIN)

KEY_PREFIX = "kks_"
_KEY = re.compile(r"^kks_([0-9a-f]{12})_([A-Za-z0-9_-]{20,200})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class KeysFileError(StartupError, ValueError):
    """The keys file cannot be used; the message names the file and the problem."""

    exit_code = 6


# The roles that read what a label says of people (the sender, the recipient, the customs contents,
# the documents). Without keys (loopback only) every caller does.
LABEL_CONTENT_ROLES = frozenset({"warehouse", ADMIN})


def reads_label_contents(role: str | None) -> bool:
    """Whether a caller of `role` (None: the server has no keys) reads labels whole."""
    return role is None or role in LABEL_CONTENT_ROLES


def allowed(role: str, rpc: str) -> bool:
    """Whether `role` may call the full method name `rpc` (/package.Service/Method)."""
    if role == ADMIN:
        return True
    return rpc in ROLE_RPCS.get(role, frozenset())


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling. `name` is what logs and metrics show; the key never is."""

    key_id: str
    name: str
    role: str
    rate_per_second: float | None = None


ANONYMOUS = Caller(key_id="", name="anonymous", role=ADMIN)


@dataclass(frozen=True, slots=True)
class KeyEntry:
    caller: Caller
    salt: bytes
    digest: bytes
    created: str

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.caller.key_id,
            "name": self.caller.name,
            "role": self.caller.role,
            "salt": self.salt.hex(),
            "hmac_sha256": self.digest.hex(),
            "created": self.created,
        }
        if self.caller.rate_per_second is not None:
            out["rate_per_second"] = self.caller.rate_per_second
        return out


def _digest(salt: bytes, key: str) -> bytes:
    return hmac.new(salt, key.encode("utf-8"), hashlib.sha256).digest()


def new_key(name: str, role: str, *, rate_per_second: float | None = None) -> tuple[str, KeyEntry]:
    """A fresh key and the entry to store for it (the key itself is not in the entry)."""
    if not _NAME.match(name):
        raise KeysFileError(f"caller name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise KeysFileError(f"role {role!r} is not one of {', '.join(ROLES)}")
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_bytes(16)
    entry = KeyEntry(Caller(key_id, name, role, rate_per_second), salt, _digest(salt, key), datetime.now(UTC).isoformat(timespec="seconds"))
    return key, entry


class KeyRing:
    """The keys of a keys file, by id."""

    def __init__(self, entries: list[KeyEntry]):
        self.entries = list(entries)
        self._by_id = {e.caller.key_id: e for e in entries}

    def identify(self, key: str) -> Caller | None:
        """The caller a presented key belongs to, or None."""
        match = _KEY.match(key)
        entry = self._by_id.get(match.group(1)) if match else None
        if entry is None:
            # Same work as a real check, so timing does not tell a known id from an unknown one.
            hmac.compare_digest(_digest(b"\0" * 16, key), b"\0" * 32)
            return None
        return entry.caller if hmac.compare_digest(_digest(entry.salt, key), entry.digest) else None

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        return cls(read_entries(path))


def read_entries(path: Path) -> list[KeyEntry]:
    """The entries of a keys file; a missing file is an error (say what was meant)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeysFileError(f"keys file {path} does not exist (create it with `kokokara-shipping keys add`)") from None
    except (OSError, ValueError) as error:
        raise KeysFileError(f"keys file {path} cannot be read: {error}") from None
    items = raw.get("keys") if isinstance(raw, Mapping) else None
    if not isinstance(items, list):
        raise KeysFileError(f"keys file {path} must be a JSON object with a 'keys' list")
    entries = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            rate = item.get("rate_per_second")
            caller = Caller(str(item["id"]), str(item["name"]), str(item["role"]), float(rate) if rate is not None else None)
            entry = KeyEntry(caller, bytes.fromhex(item["salt"]), bytes.fromhex(item["hmac_sha256"]), str(item.get("created", "")))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise KeysFileError(f"keys file {path}: keys[{i}] needs id, name, role, salt and hmac_sha256") from None
        if caller.role not in ROLES:
            raise KeysFileError(f"keys file {path}: keys[{i}] has unknown role {caller.role!r} (one of {', '.join(ROLES)})")
        if len(entry.digest) != 32 or len(entry.salt) < 16 or not re.fullmatch(r"[0-9a-f]{12}", caller.key_id):
            raise KeysFileError(f"keys file {path}: keys[{i}] has a malformed id, salt or hash")
        if caller.rate_per_second is not None and caller.rate_per_second <= 0:
            raise KeysFileError(f"keys file {path}: keys[{i}].rate_per_second must be positive")
        if caller.key_id in seen:
            raise KeysFileError(f"keys file {path}: key id {caller.key_id} appears twice")
        seen.add(caller.key_id)
        entries.append(entry)
    return entries


def write_entries(path: Path, entries: list[KeyEntry]) -> None:
    """Writes the keys file atomically, readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"keys": [e.to_json() for e in entries]}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def bearer_key(metadata: object) -> str | None:
    """The key of an `authorization: Bearer <key>` metadata entry, or None."""
    for item in metadata or ():  # type: ignore[attr-defined]
        key, value = item[0], item[1]
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return ""
    return None
