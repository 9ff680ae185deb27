"""Key format and storage, password hashing."""

import hashlib

import pytest

from trackboard.server.accounts import credentials


def test_a_key_has_a_public_prefix_and_is_stored_as_its_sha256() -> None:
    key, prefix, key_hash = credentials.new_api_key()
    assert key.startswith(prefix + "_")
    assert prefix.startswith("tbk_")
    assert len(prefix) == 12
    assert len(key) > 50
    assert key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert credentials.key_prefix(key) == prefix


def test_keys_are_unique() -> None:
    assert len({credentials.new_api_key()[0] for _ in range(1000)}) == 1000


def test_passwords_use_argon2id_with_a_salt() -> None:
    first = credentials.hash_password("a long password")
    second = credentials.hash_password("a long password")
    assert first.startswith("$argon2id$")
    assert first != second
    assert credentials.verify_password(first, "a long password")
    assert not credentials.verify_password(first, "a long passworD")
    assert not credentials.verify_password(None, "a long password")
    assert not credentials.verify_password("not a hash", "a long password")


@pytest.mark.parametrize("password", ["", "short", "x" * 9, "x" * 1025])
def test_weak_or_huge_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="characters"):
        credentials.check_password_strength(password)
