"""The guard keeps its decisions while the profiles stay as they are, and a change of the
profiles is in force for the very next request (nothing decided earlier outlives it)."""

from __future__ import annotations

from engine.security import Access, Identity, store
from engine.security.access import Kind
from engine.security.functions import Check, Function


def _define(site, name: str, uacc: Access) -> None:
    with site.catalog.session() as s:
        if not store.define(s, name, uacc, "root", 0.0):
            store.alter(s, name, uacc)
        s.commit()


async def test_a_decision_is_kept_until_the_profiles_change(site):
    guard = site.context.guard
    alice, bob = Identity("alice", ("audit",)), Identity("bob", ("sysprog",))
    _define(site, "STGADMIN.ARC.LIST", Access.NONE)
    guard.changed()
    check = Check(Function.LIST, "PAYROLL")
    first = guard.decide(alice, check)
    assert not first.allowed
    assert guard.decide_now(alice, check) is first  # kept: not made again
    assert guard.decide(bob, check) is not first  # another user is decided for on their own

    with site.catalog.session() as s:  # the group of alice may list
        store.permit(s, "STGADMIN.ARC.LIST", Kind.GROUP, "audit", Access.READ)
        s.commit()
    assert guard.decide_now(alice, check) is first  # the guard has not been told yet
    guard.changed()  # as every security command does when it succeeds
    assert guard.decide_now(alice, check) is None  # the profiles are read again first
    now = guard.decide(alice, check)
    assert now.allowed and now.profile == "STGADMIN.ARC.LIST"
    assert not guard.decide(bob, check).allowed  # bob is not in the group


async def test_a_security_command_is_in_force_for_the_next_request(site):
    from engine.api import Change, LocalSite, SecurityChange

    _define(site, "STGADMIN.ARC.QUERY", Access.NONE)
    site.context.guard.changed()
    carol = Identity("carol", ("ops",))
    refused = await site.hsm.execute("QUERY COPYPOOL(PAYROLL)", "API", carol)
    assert refused.rc == 36
    admin = LocalSite(site)
    change = SecurityChange(Change.PERMIT, "STGADMIN.ARC.QUERY", kind=Kind.USER, name="carol", access=Access.READ)
    assert (await admin.change_security(change)).rc == 0
    assert (await site.hsm.execute("QUERY COPYPOOL(PAYROLL)", "API", carol)).rc == 0
