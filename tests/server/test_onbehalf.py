"""The seal a forwarding host of the plex puts on its client's identity (server.onbehalf): right
only for the very request it was made for, only for a short while, and only under the site's key."""

from __future__ import annotations

import json

import pytest

from engine.security import Identity
from engine.security.auditkey import AuditKey
from server.onbehalf import HEADER, MAX_AGE, SEAL, ForgedOnBehalf, seal, unseal

KEY = AuditKey(b"k" * 32)
WHO = Identity("oper1", ("stgadmin",), "unix", "pid 42")
NOW = 1_800_000_000.0


def test_a_sealed_identity_is_the_clients_for_exactly_that_request():
    headers = seal(KEY, WHO, "SYS2", "POST", "/v1/command", b'{"text": "LIST"}', NOW)
    who = unseal(KEY, headers, "POST", "/v1/command", b'{"text": "LIST"}', NOW + 1)
    assert (who.user, who.groups, who.via, who.client) == ("oper1", ("stgadmin",), "unix", "pid 42 through SYS2")


@pytest.mark.parametrize(
    ("method", "path", "body", "now", "why"),
    [
        ("GET", "/v1/command", b'{"text": "LIST"}', NOW, "another request"),
        ("POST", "/v1/status", b'{"text": "LIST"}', NOW, "another request"),
        ("POST", "/v1/command", b'{"text": "FRDELETE COPYPOOL(PAY) ALL"}', NOW, "another request"),
        ("POST", "/v1/command", b'{"text": "LIST"}', NOW + MAX_AGE + 1, "sealed 31 s ago"),
    ],
)
def test_a_seal_is_refused_for_another_request_or_when_old(method, path, body, now, why):
    headers = seal(KEY, WHO, "SYS2", "POST", "/v1/command", b'{"text": "LIST"}', NOW)
    with pytest.raises(ForgedOnBehalf, match=why):
        unseal(KEY, headers, method, path, body, now)


def test_a_changed_identity_or_another_key_breaks_the_seal():
    headers = seal(KEY, WHO, "SYS2", "GET", "/v1/status", b"", NOW)
    changed = dict(headers)
    changed[HEADER] = headers[HEADER].replace('"oper1"', '"root"')
    with pytest.raises(ForgedOnBehalf, match="seal is not the site's"):
        unseal(KEY, changed, "GET", "/v1/status", b"", NOW)
    with pytest.raises(ForgedOnBehalf, match="seal is not the site's"):
        unseal(AuditKey(b"x" * 32), headers, "GET", "/v1/status", b"", NOW)
    garbage = {HEADER: "not json", SEAL: KEY.seal(b"flashpool on-behalf v1\nnot json")}
    with pytest.raises(ForgedOnBehalf, match="cannot be read"):
        unseal(KEY, garbage, "GET", "/v1/status", b"", NOW)
    assert json.loads(headers[HEADER])["system"] == "SYS2"
