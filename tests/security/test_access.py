"""Profiles decide as RACF's FACILITY class does: generic matching, the most specific profile,
user entries before group entries, UACC, no access unless granted, owner-only without profiles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.security import Access, Identity, Kind, Permit, Profile
from engine.security.access import decide, matches, valid_profile_name

ALICE = Identity("alice", ("stgops", "users"))
BOB = Identity("bob", ("users",))


@pytest.mark.parametrize(
    ("profile", "resource", "expected"),
    [
        ("STGADMIN.ARC.FRRECOV", "STGADMIN.ARC.FRRECOV", True),
        ("STGADMIN.ARC.FRRECOV", "STGADMIN.ARC.FRRECOV.DB2PROD", False),
        ("STGADMIN.ARC.FRRECOV.*", "STGADMIN.ARC.FRRECOV.DB2PROD", True),
        ("STGADMIN.ARC.FRRECOV.*", "STGADMIN.ARC.FRRECOV", False),
        ("STGADMIN.ARC.*", "STGADMIN.ARC.FRRECOV", True),
        ("STGADMIN.ARC.*", "STGADMIN.ARC.FRRECOV.DB2PROD", False),
        ("STGADMIN.**", "STGADMIN.ARC.FRRECOV.DB2PROD", True),
        ("STGADMIN.**", "STGADMIN", True),
        ("**", "ANYTHING.AT.ALL", True),
        ("STGADMIN.ARC.FR*", "STGADMIN.ARC.FRBACKUP", True),
        ("STGADMIN.ARC.FR*", "STGADMIN.ARC.LIST", False),
        ("STGADMIN.ARC.FRRECOV.DSN$DB%A$DB", "STGADMIN.ARC.FRRECOV.DSN$DB0A$DB", True),
        ("STGADMIN.ARC.FRRECOV.DSN$DB%A$DB", "STGADMIN.ARC.FRRECOV.DSN$DB00A$DB", False),
        ("STGADMIN.ARC.FRRECOV.DSN$DB0A$DB", "STGADMIN.ARC.FRRECOV.DSNXDB0AXDB", False),  # $ is literal
    ],
)
def test_generic_matching(profile, resource, expected):
    assert matches(profile, resource) is expected


def test_the_most_specific_profile_decides():
    profiles = [
        Profile("STGADMIN.**", Access.NONE),
        Profile("STGADMIN.ARC.FRRECOV", Access.NONE, (Permit(Kind.GROUP, "stgops", Access.READ),)),
        Profile("STGADMIN.ARC.FRRECOV.PAYROLL", Access.NONE, (Permit(Kind.USER, "bob", Access.READ),)),
    ]
    names = ("STGADMIN.ARC.FRRECOV.DB2PROD", "STGADMIN.ARC.FRRECOV")
    d = decide(profiles, ALICE, names, Access.READ, owner="root")
    assert d.allowed and d.profile == "STGADMIN.ARC.FRRECOV"  # the function profile covers its pools
    d = decide(profiles, ALICE, ("STGADMIN.ARC.FRRECOV.PAYROLL", "STGADMIN.ARC.FRRECOV"), Access.READ, "root")
    assert not d.allowed and d.profile == "STGADMIN.ARC.FRRECOV.PAYROLL"  # the restricted one decides
    assert "STGADMIN.ARC.FRRECOV.PAYROLL" in d.refusal(ALICE) and "READ" in d.refusal(ALICE)
    assert decide(profiles, BOB, ("STGADMIN.ARC.FRRECOV.PAYROLL", "STGADMIN.ARC.FRRECOV"), Access.READ, "root").allowed
    d = decide(profiles, ALICE, ("STGADMIN.ARC.FRDELETE.X", "STGADMIN.ARC.FRDELETE"), Access.READ, "root")
    assert not d.allowed and d.profile == "STGADMIN.**"


def test_a_discrete_profile_beats_a_generic_one_of_the_same_length():
    a = Profile("STGADMIN.ARC.LIST", Access.READ)
    b = Profile("STGADMIN.ARC.LIS%", Access.NONE)
    assert decide([b, a], ALICE, ("STGADMIN.ARC.LIST",), Access.READ, "root").profile == "STGADMIN.ARC.LIST"


def test_a_users_own_entry_wins_even_when_lower_then_groups_then_uacc():
    p = Profile(
        "STGADMIN.ARC.LIST",
        Access.READ,
        (Permit(Kind.GROUP, "users", Access.UPDATE), Permit(Kind.USER, "alice", Access.NONE)),
    )
    assert decide([p], ALICE, ("STGADMIN.ARC.LIST",), Access.READ, "root").allowed is False
    assert decide([p], BOB, ("STGADMIN.ARC.LIST",), Access.UPDATE, "root").allowed is True
    carol = Identity("carol", ())
    assert decide([p], carol, ("STGADMIN.ARC.LIST",), Access.READ, "root").allowed is True  # UACC(READ)
    assert decide([p], carol, ("STGADMIN.ARC.LIST",), Access.UPDATE, "root").allowed is False


def test_an_explicit_entry_beats_one_a_role_gave():
    p = Profile(
        "STGADMIN.ARC.FRBACKUP",
        Access.NONE,
        (Permit(Kind.USER, "alice", Access.READ, role="OPERATOR"), Permit(Kind.USER, "alice", Access.NONE)),
    )
    assert not decide([p], ALICE, ("STGADMIN.ARC.FRBACKUP",), Access.READ, "root").allowed


def test_no_access_unless_granted_and_a_site_without_profiles_serves_its_owner_only():
    p = Profile("STGADMIN.ARC.LIST", Access.NONE)
    d = decide([p], ALICE, ("STGADMIN.ARC.QUERY",), Access.READ, "root")
    assert not d.allowed and d.profile == "" and "NO PROFILE" in d.refusal(ALICE)
    assert decide([], ALICE, ("STGADMIN.ARC.QUERY",), Access.READ, owner="alice").allowed
    assert not decide([], BOB, ("STGADMIN.ARC.QUERY",), Access.READ, owner="alice").allowed


def test_star_is_every_authenticated_user():
    p = Profile("STGADMIN.ARC.QUERY", Access.NONE, (Permit(Kind.USER, "*", Access.READ),))
    assert decide([p], Identity("anyone"), ("STGADMIN.ARC.QUERY",), Access.READ, "root").allowed


@pytest.mark.parametrize("name", ["", "A..B", "STGADMIN.arc", "A.B C", "X" * 247])
def test_bad_profile_names_are_named(name):
    assert valid_profile_name(name)


_qual = st.text("ABC$", min_size=1, max_size=3)


@given(st.lists(_qual, min_size=1, max_size=4))
def test_a_name_matches_itself_and_double_star_matches_everything(quals):
    name = ".".join(quals)
    assert matches(name, name)
    assert matches("**", name)
    assert matches(f"{quals[0]}.**", name)
    assert matches(".".join("*" for _ in quals), name)
    assert not matches(".".join("*" for _ in quals) + ".*", name)


def test_a_profile_may_restrict_a_function_to_a_copy_pool_only_by_a_qualifier_after_its_name():
    """The guard skips every per-pool check (and the catalog) when no profile could restrict
    LIST to some copy pools; this is the rule it asks, conservative where unsure."""
    from engine.security.access import may_restrict

    base = "STGADMIN.ARC.LIST"
    restricting = ["STGADMIN.ARC.LIST.HR", "STGADMIN.ARC.LIST.*", "STGADMIN.ARC.*.HR", "STGADMIN.**.HR"]
    restricting += ["STGADMIN.ARC.L%ST.PAY", "*.ARC.LIST.HR"]
    not_restricting = ["STGADMIN.ARC.LIST", "STGADMIN.**", "STGADMIN.ARC.LIST.**", "STGADMIN.ARC.*"]
    not_restricting += ["STGADMIN.ARC.FRRECOV.HR", "STGADMIN.FPL.SECURITY", "STGADMIN.ARC.QUERY.*"]
    assert [p for p in restricting if not may_restrict(p, base)] == []
    assert [p for p in not_restricting if may_restrict(p, base)] == []
