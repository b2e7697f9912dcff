"""Provider API keys: encrypted at rest, masked everywhere they are shown or logged.

Keys are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp) under a key
derived from `MEDIUM_SECRET_KEY`. Changing `MEDIUM_SECRET_KEY` makes stored keys unreadable;
`decrypt_key` then raises `KeyDecryptionError` rather than returning garbage.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken

from synthesis.errors import InvalidInput, MediumError

# Vendor prefixes that identify the key type without revealing key material.
_KNOWN_PREFIXES = ("sk-ant-", "sk-proj-", "sk-or-", "sk-")
# Show the last 4 characters only when the key is long enough that 4 is a small fraction.
_MIN_LENGTH_FOR_TAIL = 16
ELLIPSIS = "…"
# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class KeyDecryptionError(MediumError):
    """A stored API key cannot be decrypted: MEDIUM_SECRET_KEY is wrong or has changed."""

    code = "key_decryption_failed"


def _fernet(secret_key: str) -> Fernet:
    """A Fernet keyed by SHA-256 of an arbitrary secret string (any length, any characters)."""
    if not secret_key:
        raise InvalidInput("MEDIUM_SECRET_KEY is empty", field="MEDIUM_SECRET_KEY")
    digest = hashlib.sha256(secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_key(secret_key: str, api_key: str) -> str:
    """Encrypt `api_key` under `secret_key`. The token is ASCII and differs on every call."""
    return _fernet(secret_key).encrypt(api_key.encode()).decode("ascii")


def decrypt_key(secret_key: str, token: str) -> str:
    """The API key inside `token`. Raises `KeyDecryptionError` on a wrong key or a damaged token."""
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise KeyDecryptionError() from exc


def mask_key(api_key: str) -> str:
    """A display form: a known vendor prefix, an ellipsis, and at most the last 4 characters.

    "sk-proj-abcdefghijklmnop1234" -> "sk-proj-…1234"; keys shorter than 16 characters show no
    tail at all ("sk-…", "…"). The empty string stays empty.
    """
    if not api_key:
        return ""
    prefix = next((p for p in _KNOWN_PREFIXES if api_key.startswith(p)), "")
    tail = api_key[-4:] if len(api_key) >= _MIN_LENGTH_FOR_TAIL else ""
    return f"{prefix}{ELLIPSIS}{tail}"


class SecretMaskingFilter(logging.Filter):
    """Replace every occurrence of the given secrets in a log record with `mask_key(secret)`.

    Masks the formatted message, string-valued `extra` fields, and exception/stack text, so a
    key embedded in an error message or traceback is masked too. Never drops a record.

    Attach it to *handlers*: a filter on a logger does not see records propagated from its
    child loggers (e.g. "openai._base_client").
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        unique = {s for s in secrets if s}
        self._secrets = sorted(unique, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """Also mask `secret` from now on (e.g. a key set at runtime)."""
        if secret and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, mask_key(secret))
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, self.mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def masking_filter(handler: logging.Handler) -> SecretMaskingFilter:
    """The handler's `SecretMaskingFilter`, attached first if it has none."""
    for existing in handler.filters:
        if isinstance(existing, SecretMaskingFilter):
            return existing
    made = SecretMaskingFilter(())
    handler.addFilter(made)
    return made


def install_masking(secrets: Iterable[str] = ()) -> None:
    """Mask `secrets` on every handler of the root logger (attaching the filter where missing).

    Every process calls this once its logging is set up; `mask_everywhere` adds a key that
    becomes known later (one decrypted from the `models` table).
    """
    for handler in logging.getLogger().handlers:
        masking = masking_filter(handler)
        for secret in secrets:
            masking.add(secret)


def mask_everywhere(secret: str) -> None:
    """From now on, mask `secret` in every root handler's output."""
    install_masking([secret])
