"""Which commands write the site: the one answer a read-only console refuses by."""

from __future__ import annotations

import pytest

from engine.command import changes_site, parse_command


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ("FRBACKUP COPYPOOL(PAYROLL)", True),
        ("FRBACKUP COPYPOOL(PAYROLL) PREPARE", True),
        ("FRRECOV COPYPOOL(PAYROLL)", True),
        ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE", True),
        ("FRDELETE COPYPOOL(PAYROLL) ALL", True),
        ("HOLD FRBACKUP", True),
        ("RELEASE FRBACKUP", True),
        ("SETSYS FASTREPLICATION(DATASETRECOVERY(PREFERRED))", True),
        ("SETSYS MAXCOPYPOOLTASKS(DSS(3))", True),
        ("DEFINE DUMPCLASS(ONSITE RETENTIONPERIOD(7))", True),
        ("DEFINE DUMPCYCLE(YN)", True),
        ("AUDIT COPYPOOLCONTROLS(PAYROLL) FIX", True),
        ("AUDIT COPYPOOLCONTROLS(PAYROLL)", False),
        ("AUDIT COPYPOOLCONTROLS(PAYROLL) NOFIX OUTDATASET(RO.AUDIT)", True),  # writes a data set too
        ("AUDIT COPYPOOLCONTROLS(PAYROLL) ODS(RO.AUDIT)", True),
        ("LIST COPYPOOL(PAYROLL)", False),
        ("LIST COPYPOOL(PAYROLL) ODS(LISTING.OUT)", True),  # writes a data set into the site
        ("QUERY COPYPOOL(PAYROLL)", False),
        ("QUERY SETSYS", False),
    ],
)
def test_which_commands_change_the_site(text, changes):
    assert changes_site(parse_command(text)) is changes
