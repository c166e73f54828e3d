"""Backend tokens encrypted at rest (Fernet, key derived from SECRET_KEY): a database dump or the admin never
shows a team's model-server credential; only the worker that calls the backend decrypts it."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = hashlib.sha256(b"assist.backend-token:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode() if token else ""


def unseal(sealed: str) -> str:
    """The token, or "" when none is set or SECRET_KEY changed since it was sealed (the call goes without)."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return ""
