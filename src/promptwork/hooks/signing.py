"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body``, keyed by the hook's secret.

Each delivery carries ``X-Promptwork-Signature: t=<unix seconds>,v1=<hex digest>``. A receiver
recomputes the digest over the raw body with its secret, compares in constant time, and refuses
a timestamp too far from its clock (replays)::

    import hashlib, hmac, time

    def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        return (hmac.compare_digest(expected, parts["v1"])
                and abs(time.time() - int(parts["t"])) <= tolerance)
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["EVENT_HEADER", "ID_HEADER", "SIGNATURE_HEADER", "sign", "signature_header",
           "verify"]

SIGNATURE_HEADER = "X-Promptwork-Signature"
EVENT_HEADER = "X-Promptwork-Event"
ID_HEADER = "X-Promptwork-Delivery"
#: How far (seconds) a signed timestamp may be from the receiver's clock.
TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body,
                    hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Promptwork-Signature`` value for ``body`` (now, unless ``timestamp``)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={sign(secret, stamp, body)}"


def verify(secret: str, header: str, body: bytes, tolerance: int = TOLERANCE_S,
           now: float | None = None) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds."""
    try:
        parts = dict(p.strip().split("=", 1) for p in header.split(","))
        stamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    clock = time.time() if now is None else now
    return hmac.compare_digest(sign(secret, stamp, body), given) and (
        abs(clock - stamp) <= tolerance)
