"""API keys: encryption at rest, masking, and the log filter."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from synthesis.errors import InvalidInput, MediumError
from synthesis.llm.keys import (
    KeyDecryptionError,
    SecretMaskingFilter,
    decrypt_key,
    encrypt_key,
    mask_key,
)

SECRET = "medium-secret-key: any length, any characters ✓"
API_KEY = "sk-proj-Abc123Def456Ghi789Jkl012wxyz"


def test_round_trip() -> None:
    token = encrypt_key(SECRET, API_KEY)

    assert decrypt_key(SECRET, token) == API_KEY
    assert API_KEY not in token
    assert token.isascii()


def test_tokens_differ_per_encryption() -> None:
    assert encrypt_key(SECRET, API_KEY) != encrypt_key(SECRET, API_KEY)


def test_wrong_secret_key_is_a_clear_medium_error() -> None:
    token = encrypt_key(SECRET, API_KEY)

    with pytest.raises(KeyDecryptionError, match="MEDIUM_SECRET_KEY") as caught:
        decrypt_key(SECRET + "x", token)
    assert isinstance(caught.value, MediumError)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize("token", ["not-a-token", "", "gAAAAA" + "A" * 80])
def test_damaged_token_is_a_decryption_error(token: str) -> None:
    with pytest.raises(KeyDecryptionError):
        decrypt_key(SECRET, token)


def test_tampered_token_is_rejected() -> None:
    token = encrypt_key(SECRET, API_KEY)
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]

    with pytest.raises(KeyDecryptionError):
        decrypt_key(SECRET, flipped)


def test_empty_secret_key_is_refused() -> None:
    with pytest.raises(InvalidInput, match="MEDIUM_SECRET_KEY"):
        encrypt_key("", API_KEY)


@pytest.mark.parametrize(
    ("api_key", "masked"),
    [
        ("sk-proj-Abc123Def456Ghi789Jkl012wxyz", "sk-proj-…wxyz"),
        ("sk-ant-api03-0123456789abcdefABCD", "sk-ant-…ABCD"),
        ("sk-0123456789abcdefghij", "sk-…ghij"),
        ("0123456789abcdefXYZW", "…XYZW"),
        ("sk-short", "sk-…"),
        ("tiny", "…"),
        ("", ""),
    ],
)
def test_mask_key(api_key: str, masked: str) -> None:
    assert mask_key(api_key) == masked


@pytest.mark.parametrize(
    "api_key", [API_KEY, "x" * 15, "y" * 16, "sk-ant-" + "z" * 40, "abcd-efgh-ijkl-mnop-qrst"]
)
def test_mask_never_shows_more_than_the_last_four_characters(api_key: str) -> None:
    masked = mask_key(api_key)
    prefix, _, tail = masked.partition("…")

    assert api_key.startswith(prefix)
    assert prefix in ("", "sk-", "sk-ant-", "sk-proj-", "sk-or-")
    assert len(tail) <= 4
    assert api_key.endswith(tail)
    assert api_key not in masked


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler carries the masking filter; yields it and the handler's output."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s provider_key=%(api_key)s"))
    handler.addFilter(SecretMaskingFilter([API_KEY, "other-secret-0000000001"]))
    logger = logging.getLogger("test_keys.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.propagate = True


def test_filter_masks_a_key_in_a_formatted_message(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.warning("calling openai with key %s failed", API_KEY, extra={"api_key": API_KEY})

    out = stream.getvalue()
    assert API_KEY not in out
    assert out == (
        "WARNING calling openai with key sk-proj-…wxyz failed provider_key=sk-proj-…wxyz\n"
    )


def test_filter_masks_keys_in_tracebacks_and_child_loggers(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    _logger, stream = captured
    child = logging.getLogger("test_keys.masking.child")  # propagates to the handler

    try:
        raise RuntimeError(f"401 for key {API_KEY}")
    except RuntimeError:
        child.exception("auth failed", extra={"api_key": "none"})

    out = stream.getvalue()
    assert API_KEY not in out
    assert "RuntimeError: 401 for key sk-proj-…wxyz" in out


def test_filter_leaves_clean_records_alone(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.info("%d tokens used by %s", 42, "gpt", extra={"api_key": "-"})

    assert stream.getvalue() == "INFO 42 tokens used by gpt provider_key=-\n"


def test_filter_ignores_empty_secrets() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)

    assert SecretMaskingFilter(["", API_KEY]).filter(record)
    assert record.getMessage() == "hello"
