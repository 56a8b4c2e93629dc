"""Guild governance on the command line (SPEC §12.5), in direct mode: `guild propose`,
`guild vote`, `guild motions`, and every refusal with its code and nothing published.

Others' records are signed here and stored through the node's own ingest (see
test_trust_guild_cli)."""

from __future__ import annotations

import pytest
import test_trust_guild_cli as base
from test_trust_guild_cli import Cli, Person, ingest

ZERO = "0" * 64
# The same fixtures: an initialised directory whose owner is Ada, and two other identities.
ada, bea, cal = base.ada, base.bea, base.cal


@pytest.fixture
def guild(ada: Cli, bea: Person, cal: Person) -> str:
    """Ada's guild with Bea and Cal as cofounders who have applied: three members."""
    gid: str = ada.json(
        "guild", "found", "Makers", "--purpose", "Make things.", "--vouches-required", "1",
        "--cofounder", bea.did, "--cofounder", cal.did, "--cooling-days", "0",
    )["id"]  # fmt: skip
    ingest(
        ada.data,
        bea.profile(),
        bea.sign("apply", {"guild": gid}),
        cal.profile(),
        cal.sign("apply", {"guild": gid}),
    )
    return gid


def test_an_amendment_is_adopted_by_a_majority_and_shown(ada: Cli, bea: Person, guild: str) -> None:
    motion = ada.json("guild", "propose", guild, "--name", "Makers Guild", "--reason", "Clearer.")
    [listed] = ada.json("guild", "motions", guild)["motions"]
    assert listed["id"] == motion["id"] and listed["status"] == "open"
    assert (listed["yes"], listed["needed"], len(listed["electorate"])) == ([ada.did], 2, 3)
    assert listed["you_may_vote"] is False  # the motion is Ada's yes
    assert ada.json("guild", "show", guild)["name"] == "Makers"

    ingest(ada.data, bea.sign("vote", {"guild": guild, "motion": motion["id"], "choice": "yes"}))
    assert ada.json("guild", "show", guild)["name"] == "Makers Guild"
    text = ada.ok("guild", "motions", guild)
    assert "Rename the guild 'Makers Guild'" in text
    assert "adopted; yes 2, no 0, needs 2 of 3" in text


def test_an_amendment_without_a_majority_has_no_effect(ada: Cli, bea: Person, guild: str) -> None:
    motion = ada.json("guild", "propose", guild, "--unlist", "--vouches-required", "2")
    ingest(ada.data, bea.sign("vote", {"guild": guild, "motion": motion["id"], "choice": "no"}))
    [listed] = ada.json("guild", "motions", guild)["motions"]
    assert listed["status"] == "open" and listed["no"] == [bea.did]
    assert ada.json("guild", "show", guild)["vouches_required"] == 1


def test_a_listing_amendment_lists_the_guild(ada: Cli, bea: Person, guild: str) -> None:
    assert "  listed: no" in ada.ok("guild", "show", guild)
    motion = ada.json("guild", "propose", guild, "--listed", "Makers of things.")
    ingest(ada.data, bea.sign("vote", {"guild": guild, "motion": motion["id"], "choice": "yes"}))
    assert ada.json("guild", "show", guild)["listing"] == {"description": "Makers of things."}
    assert "  listed: Makers of things." in ada.ok("guild", "show", guild)


def test_a_member_removed_by_vote_is_no_longer_one(
    ada: Cli, bea: Person, cal: Person, guild: str
) -> None:
    motion = ada.json("guild", "propose", guild, "--remove", cal.did, "--reason", "Gone quiet.")
    ingest(ada.data, bea.sign("vote", {"guild": guild, "motion": motion["id"], "choice": "yes"}))
    members = [m["did"] for m in ada.json("guild", "show", guild)["members"]]
    assert cal.did not in members and bea.did in members
    assert "Remove Cal" in ada.ok("guild", "motions", guild)


def test_a_member_leaves_and_is_shown_gone(ada: Cli, bea: Person, guild: str) -> None:
    ingest(ada.data, bea.sign("leave", {"guild": guild, "reason": "Moving on."}))
    members = [m["did"] for m in ada.json("guild", "show", guild)["members"]]
    assert bea.did not in members and ada.did in members
    ada.ok("guild", "leave", guild)
    assert ada.json("guild", "show", guild)["you_are_member"] is False


def test_a_vote_by_a_non_member_is_refused(ada: Cli, cal: Person, guild: str) -> None:
    # Cal (in Ada's scope as a member of her guild) founds a guild of its own.
    charter = cal.sign(
        "guild",
        {"name": "Cal's", "purpose": "P", "founders": [cal.did],
         "admission": {"vouches_required": 1}},
    )  # fmt: skip
    motion = cal.sign("motion", {"guild": charter.id, "action": "amend", "changes": {"name": "C"}})
    ingest(ada.data, charter, motion)
    result = ada.fails("guild", "vote", motion.id, "yes", code="not_a_member")
    assert "members when the motion was proposed" in result.stderr
    ada.fails("guild", "propose", charter.id, "--name", "Mine", code="not_a_member")


def test_a_duplicate_vote_is_refused(ada: Cli, bea: Person, guild: str) -> None:
    motion = bea.sign("motion", {"guild": guild, "action": "amend", "changes": {"name": "B"}})
    ingest(ada.data, motion)
    assert ada.json("guild", "motions", guild)["motions"][0]["you_may_vote"] is True
    ada.ok("guild", "vote", motion.id, "no")
    ada.fails("guild", "vote", motion.id, "yes", code="already_voted")
    own = ada.json("guild", "propose", guild, "--purpose", "Make more things.")
    ada.fails("guild", "vote", own["id"], "yes", code="already_voted")


def test_a_motion_on_an_unknown_guild_is_refused(ada: Cli) -> None:
    result = ada.fails("guild", "propose", ZERO, "--name", "X", code="not_found")
    assert "No guild charter" in result.stderr
    ada.fails("guild", "vote", ZERO, "yes", code="not_found")
    ada.fails("guild", "motions", ZERO, code="not_found")


def test_a_malformed_amendment_is_refused(ada: Cli, cal: Person, guild: str) -> None:
    ada.fails("guild", "propose", guild, code="malformed_motion")
    ada.fails("guild", "propose", guild, "--listed", "Open to all.", "--unlist",
              code="malformed_motion")  # fmt: skip
    result = ada.fails("guild", "propose", guild, "--vouches-required", "4",
                       code="invalid_amendment")  # fmt: skip
    assert "at most the number of founders" in result.stderr
    ada.fails("guild", "propose", guild, "--name", "X", "--remove", cal.did,
              code="invalid_argument")  # fmt: skip
    ada.fails("guild", "propose", guild, "--listed", "x" * 2001, code="invalid_argument")
    ada.fails("guild", "propose", guild, "--remove", "did:key:nope", code="invalid_did")


def test_a_vote_on_a_closed_motion_is_refused(
    ada: Cli, bea: Person, cal: Person, guild: str
) -> None:
    motion = bea.sign("motion", {"guild": guild, "action": "amend", "changes": {"name": "B"}})
    vote = cal.sign("vote", {"guild": guild, "motion": motion.id, "choice": "yes"})
    ingest(ada.data, motion, vote)  # Bea and Cal: two of three, adopted
    result = ada.fails("guild", "vote", motion.id, "no", code="motion_closed")
    assert "adopted" in result.stderr


def test_a_vote_on_a_motion_without_effect_is_refused(ada: Cli, bea: Person, guild: str) -> None:
    # Valid on the wire, without effect: a removal that also amends (SPEC §12.5 step 2).
    motion = bea.sign(
        "motion",
        {"guild": guild, "action": "remove", "member": ada.did, "changes": {"name": "B"}},
    )
    ingest(ada.data, motion)
    [shown] = ada.json("guild", "motions", guild)["motions"]
    assert (shown["status"], shown["without_effect"]) == ("no_effect", "malformed_motion")
    ada.fails("guild", "vote", motion.id, "yes", code="motion_without_effect")
