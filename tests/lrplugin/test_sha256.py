"""Sha256.lua (pure Lua 5.1, no bit library) against Python's hashlib/hmac: FIPS and RFC 4231 vectors,
block-boundary lengths, random keys and messages, and the bridge's proofs against bridge/lightroom/auth.py."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from lupa.lua51 import LuaRuntime

from bridge.lightroom.auth import plugin_proof, service_proof
from tests.lrplugin.harness import PLUGIN_DIR

LUA = LuaRuntime(unpack_returned_tuples=True, encoding=None)  # bytes in, bytes out: no UTF-8 round trip
SHA = LUA.execute((PLUGIN_DIR / "Sha256.lua").read_bytes())


def lua_hex(msg: bytes) -> str:
    return SHA.hex(msg).decode()


def lua_hmac(key: bytes, msg: bytes) -> str:
    return SHA.hmacHex(key, msg).decode()


@pytest.mark.parametrize(
    ("msg", "digest"),
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ],
)
def test_fips_180_vectors(msg: bytes, digest: str) -> None:
    assert lua_hex(msg) == digest


@pytest.mark.parametrize("n", [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000])
def test_padding_boundaries(n: int) -> None:
    msg = bytes(range(256)) * (n // 256 + 1)
    assert lua_hex(msg[:n]) == hashlib.sha256(msg[:n]).hexdigest()


# RFC 4231 test cases 1-4, 6, 7 (case 5 is a truncated output: its first 128 bits are checked below).
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data. The key "
        b"needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


@pytest.mark.parametrize(("key", "msg", "mac"), RFC4231)
def test_rfc4231(key: bytes, msg: bytes, mac: str) -> None:
    assert lua_hmac(key, msg) == mac == hmac.new(key, msg, hashlib.sha256).hexdigest()


def test_rfc4231_case5_truncated() -> None:
    assert lua_hmac(b"\x0c" * 20, b"Test With Truncation")[:32] == "a3b6167473100ee06e0c796c2955552b"


def test_random_keys_and_messages() -> None:
    rng = random.Random(4231)
    for _ in range(40):
        key = rng.randbytes(rng.choice([0, 1, 32, 63, 64, 65, 100, 200]))
        msg = rng.randbytes(rng.randrange(0, 300))
        assert lua_hmac(key, msg) == hmac.new(key, msg, hashlib.sha256).hexdigest()


def test_the_bridge_proofs_match_the_service() -> None:
    """The exact message layout Bridge.lua signs (role|first|second|receive|send) is the service's."""
    token, a, b = "ab" * 32, "1" * 64, "2" * 64
    lua_msg = f"pd-plugin|{a}|{b}|{47011}|{47012}".encode()
    assert lua_hmac(token.encode(), lua_msg) == plugin_proof(token, a, b, 47011, 47012)
    assert lua_hmac(token.encode(), f"pd-service|{b}|{a}|1|2".encode()) == service_proof(token, b, a, 1, 2)


def test_same_compares_whole_strings() -> None:
    assert SHA.same(b"abc", b"abc") and not SHA.same(b"abc", b"abd") and not SHA.same(b"abc", b"ab")
    assert not SHA.same(b"abc", None)
