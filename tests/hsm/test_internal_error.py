"""A defect of flashpool's that breaks a command mid-way still gives its caller an answer in the
domain's style (ARC1806E RC 16, the traceback in the site's log), and the command is in the
activity log and the audit trail as any other outcome (it answered HTTP 500 and was in neither)."""

from __future__ import annotations

import logging

from engine.hsm import delete


async def test_an_internal_error_is_answered_logged_and_audited(site, monkeypatch, caplog):
    def broken(*args: object) -> None:
        raise AttributeError("'CopyPoolRow' object has no attribute 'nope'")

    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    monkeypatch.setattr(delete, "frdelete", broken)
    with caplog.at_level(logging.ERROR, logger="flashpool.hsm"):
        res = await site.hsm.execute("FRDELETE COPYPOOL(PAYROLL) VERSIONS(1)")
    assert res.rc == 16, res.lines()
    assert res.messages[-1].id == "ARC1806E" and "RC=0016 - INTERNAL ERROR (AttributeError: " in res.messages[-1].text
    assert any(r.exc_info for r in caplog.records)  # the traceback is kept for whoever mends it
    entry = site.views.activity(1)[0]
    assert (entry.command, entry.return_code) == ("FRDELETE COPYPOOL(PAYROLL) VERSIONS(1)", 16)
    audited = [e for e in site.context.audit.entries() if e.action.startswith("FRDELETE")]
    assert [(e.decision, e.return_code) for e in audited] == [("ALLOWED", 16)]
