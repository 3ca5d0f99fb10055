"""Members and invitations role by role: invite, accept, change roles, remove, leave; an owner stays."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from orgbase.audit.service import Origin
from orgbase.db import tenant
from orgbase.errors import Conflict, PermissionDenied
from orgbase.members import service as members
from orgbase.members.models import RoleChange
from tests.fixtures.api import Api, User
from tests.test_api_auth import problem

pytestmark = pytest.mark.db

ROLES = ("owner", "admin", "billing_admin", "developer", "read_only")


def _org_with_everyone(api: Api) -> tuple[str, dict[str, User]]:
    """An organization with one user of every role (the owner made it)."""
    users = {role: api.user(role) for role in ROLES}
    org = api.org(users["owner"])
    for role in ROLES[1:]:
        api.add_member(org, users[role], role)
    return org, users


def _invite(api: Api, org: str, by: User, email: str, role: str = "developer") -> Any:
    return api.client.post(
        f"/api/organizations/{org}/invitations", json={"email": email, "role": role}, headers=by.headers
    )


def _roles(api: Api, org: str) -> dict[str, str]:
    with api.db.connect() as conn:
        rows = conn.execute(
            "select user_id::text, role from platform.organization_members where organization_id = %s", [org]
        )
        return dict(rows.fetchall())


def _activate(api: Api, user: User, org: str) -> None:
    made = api.client.post("/api/auth/set-active-org", json={"organizationId": org}, headers=user.headers)
    assert made.status_code == 204, made.text
    assert _active_org(api, user) == org


def _active_org(api: Api, user: User) -> str | None:
    me = api.client.get("/api/auth/validate", headers=user.headers).json()
    return me["user"]["activeOrgId"]  # type: ignore[no-any-return]


def _actions(api: Api, org: str) -> list[str]:
    with api.db.connect() as conn:
        rows = conn.execute(
            "select action from platform.audit_logs where organization_id = %s order by created_at, action",
            [org],
        )
        return [r[0] for r in rows]


def test_every_role_lists_members_with_names(api: Api) -> None:
    org, users = _org_with_everyone(api)
    for role in ROLES:
        listed = api.client.get(f"/api/organizations/{org}/members", headers=users[role].headers)
        assert listed.status_code == 200, listed.text
        assert {m["email"]: m["role"] for m in listed.json()} == {users[r].email: r for r in ROLES}
        assert all(m["first_name"] and m["last_name"] == "User" for m in listed.json())
    eve = api.user("eve")
    stranger = problem(api.client.get(f"/api/organizations/{org}/members", headers=eve.headers), 404)
    nothing = problem(api.client.get(f"/api/organizations/{uuid.uuid4()}/members", headers=eve.headers), 404)
    assert stranger["code"] == nothing["code"] and stranger["title"] == nothing["title"]
    problem(api.client.get("/api/organizations/nope/members", headers=eve.headers), 422)
    problem(api.client.get(f"/api/organizations/{org}/members"), 401)


def test_invitations_role_by_role(api: Api) -> None:
    org, users = _org_with_everyone(api)
    c, admin = api.client, users["admin"]
    invitations = f"/api/organizations/{org}/invitations"
    for role in ("billing_admin", "developer", "read_only"):
        problem(_invite(api, org, users[role], f"{role}@new.io"), 403, "role_forbids")
        problem(c.get(invitations, headers=users[role].headers), 403, "role_forbids")
    problem(_invite(api, org, admin, "boss@new.io", "owner"), 403, "role_forbids")  # admins make no owners
    made = _invite(api, org, admin, "dev@new.io", "developer")
    assert made.status_code == 201, made.text
    inv = made.json()
    assert (inv["organization_id"], inv["role"], inv["invited_by"]) == (org, "developer", admin.id)
    with api.db.connect() as conn:  # only the token's hash is stored
        stored = conn.execute("select token_hash from platform.invitations where id = %s", [inv["id"]])
        assert stored.fetchone() == (tenant.token_hash(inv["token"]),)
    assert _invite(api, org, users["owner"], "boss@new.io", "owner").status_code == 201
    listed = c.get(invitations, headers=admin.headers)
    assert listed.status_code == 200
    assert [i["email"] for i in listed.json()] == ["boss@new.io", "dev@new.io"]  # newest first
    assert all("token" not in i for i in listed.json())
    one = f"{invitations}/{inv['id']}"
    for role in ("billing_admin", "developer", "read_only"):
        problem(c.delete(one, headers=users[role].headers), 403)
    assert c.delete(one, headers=admin.headers).status_code == 204
    problem(c.delete(one, headers=admin.headers), 404)
    dev = api.user("dev")
    with api.db.connect() as conn:  # the revoked token is dead even for its addressee
        conn.execute("update platform.users set email = 'dev@new.io' where id = %s", [dev.id])
    problem(c.post("/api/invitations/accept", json={"token": inv["token"]}, headers=dev.headers), 404)
    assert _actions(api, org) == [
        "organization.create",
        "member.invite",
        "member.invite",
        "invitation.revoke",
    ]


def test_invitation_inputs_are_checked(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    url = f"/api/organizations/{org}/invitations"
    for body, field in [
        ({"email": "not-an-email", "role": "developer"}, "email"),
        ({"email": "a\x00b@x.io", "role": "developer"}, "email"),
        ({"email": "a@x.io"}, "role"),
        ({"email": "a@x.io", "role": "developer", "admin": True}, "admin"),
        ({"email": "a@x.io", "role": "Robert'); DROP TABLE x;--"}, "role"),
    ]:
        body_ = problem(api.client.post(url, json=body, headers=ada.headers), 422, "validation_failed")
        assert [e["field"] for e in body_["errors"]] == [field]
    problem(_invite(api, org, ada, "a@x.io", "superuser"), 422, "unknown_role")
    problem(_invite(api, org, ada, ada.email.upper()), 409, "already_member")
    assert _invite(api, org, ada, "a@x.io").status_code == 201
    problem(_invite(api, org, ada, "A@X.io", "admin"), 409, "invitation_pending")
    # An expired pending invitation no longer blocks the address: inviting again replaces it.
    with api.db.connect() as conn:
        conn.execute(
            "update platform.invitations set created_at = now() - interval '9 days',"
            " expires_at = now() - interval '1 day' where organization_id = %s",
            [org],
        )
    assert api.client.get(url, headers=ada.headers).json() == []
    again = _invite(api, org, ada, "a@x.io", "admin")
    assert again.status_code == 201 and again.json()["role"] == "admin"
    assert [i["id"] for i in api.client.get(url, headers=ada.headers).json()] == [again.json()["id"]]


def test_accepting_an_invitation(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    bob, eve = api.user("bob"), api.user("eve")
    token = _invite(api, org, ada, bob.email.upper(), "admin").json()["token"]
    accept = "/api/invitations/accept"
    problem(api.client.post(accept, json={"token": token}), 401)
    problem(api.client.post(accept, json={"token": token}, headers=eve.headers), 404)  # not eve's address
    problem(api.client.post(accept, json={"token": "forged"}, headers=bob.headers), 404)
    problem(api.client.post(accept, json={"token": token, "org": org}, headers=bob.headers), 422)
    problem(api.client.post(accept, json={"token": ""}, headers=bob.headers), 422)
    assert _roles(api, org) == {ada.id: "owner"}
    joined = api.client.post(accept, json={"token": token}, headers=bob.headers)
    assert joined.status_code == 200, joined.text
    assert joined.json() == {"organization_id": org, "role": "admin"}
    assert _roles(api, org) == {ada.id: "owner", bob.id: "admin"}
    assert _active_org(api, bob) == org  # bob had no organization: this one becomes active
    problem(api.client.post(accept, json={"token": token}, headers=bob.headers), 404)  # used
    assert _actions(api, org)[-1] == "member.accept"
    # Accepted invitations stay as the record: they cannot be revoked or listed as pending.
    listed = api.client.get(f"/api/organizations/{org}/invitations", headers=ada.headers)
    assert listed.json() == []


def test_expired_tokens_and_members_already_in(api: Api) -> None:
    ada, bob = api.user("ada"), api.user("bob")
    org = api.org(ada)
    old = _invite(api, org, ada, bob.email).json()
    with api.db.connect() as conn:
        conn.execute(
            "update platform.invitations set created_at = now() - interval '9 days',"
            " expires_at = now() - interval '1 day' where id = %s",
            [old["id"]],
        )
    problem(
        api.client.post("/api/invitations/accept", json={"token": old["token"]}, headers=bob.headers), 404
    )
    fresh = _invite(api, org, ada, bob.email).json()
    api.add_member(org, bob, "read_only")  # joined by other means meanwhile
    problem(
        api.client.post("/api/invitations/accept", json={"token": fresh["token"]}, headers=bob.headers), 409
    )
    assert _roles(api, org)[bob.id] == "read_only"


def test_another_organizations_ids_are_404_and_change_nothing(api: Api) -> None:
    ada, zed = api.user("ada"), api.user("zed")
    mine, theirs = api.org(ada), api.org(zed)
    dev = api.user("dev")
    api.add_member(theirs, dev, "developer")
    inv = _invite(api, theirs, zed, "x@y.io").json()
    c, h = api.client, ada.headers
    problem(c.patch(f"/api/organizations/{mine}/members/{dev.id}", json={"role": "admin"}, headers=h), 404)
    problem(c.delete(f"/api/organizations/{mine}/members/{zed.id}", headers=h), 404)
    problem(c.delete(f"/api/organizations/{mine}/invitations/{inv['id']}", headers=h), 404)
    problem(c.delete(f"/api/organizations/{theirs}/invitations/{inv['id']}", headers=h), 404)
    problem(c.patch(f"/api/organizations/{theirs}/members/{dev.id}", json={"role": "admin"}, headers=h), 404)
    problem(c.post(f"/api/organizations/{theirs}/members/leave", headers=h), 404)
    problem(_invite(api, theirs, ada, "me@y.io"), 404)
    problem(c.patch(f"/api/organizations/{mine}/members/not-a-uuid", json={"role": "admin"}, headers=h), 422)
    problem(c.delete(f"/api/organizations/{mine}/invitations/42", headers=h), 422)
    assert _roles(api, theirs) == {zed.id: "owner", dev.id: "developer"}
    assert [
        i["id"] for i in c.get(f"/api/organizations/{theirs}/invitations", headers=zed.headers).json()
    ] == [inv["id"]]
    assert _actions(api, theirs) == ["organization.create", "member.invite"]


def test_changing_roles(api: Api) -> None:
    org, users = _org_with_everyone(api)
    c = api.client
    url = f"/api/organizations/{org}/members/{{}}"
    dev, admin, owner = users["developer"], users["admin"], users["owner"]
    for role in ("billing_admin", "developer", "read_only"):
        problem(c.patch(url.format(dev.id), json={"role": "admin"}, headers=users[role].headers), 403)
    changed = c.patch(url.format(dev.id), json={"role": "read_only"}, headers=admin.headers)
    assert changed.status_code == 200 and changed.json()["role"] == "read_only"
    assert changed.json()["email"] == dev.email
    problem(
        c.patch(url.format(dev.id), json={"role": "owner"}, headers=admin.headers), 403
    )  # admin makes no owner
    problem(
        c.patch(url.format(owner.id), json={"role": "admin"}, headers=admin.headers), 403
    )  # nor unmakes one
    problem(c.patch(url.format(dev.id), json={"role": "god"}, headers=admin.headers), 422, "unknown_role")
    problem(c.patch(url.format(dev.id), json={"role": "admin", "x": 1}, headers=admin.headers), 422)
    problem(c.patch(url.format(uuid.uuid4()), json={"role": "admin"}, headers=admin.headers), 404)
    problem(c.patch(url.format(owner.id), json={"role": "admin"}, headers=owner.headers), 409, "last_owner")
    assert c.patch(url.format(admin.id), json={"role": "owner"}, headers=owner.headers).status_code == 200
    assert c.patch(url.format(owner.id), json={"role": "admin"}, headers=admin.headers).status_code == 200
    assert _roles(api, org)[owner.id] == "admin" and _roles(api, org)[admin.id] == "owner"
    assert _actions(api, org).count("member.update_role") == 3


def test_removing_members(api: Api) -> None:
    org, users = _org_with_everyone(api)
    c = api.client
    url = f"/api/organizations/{org}/members/{{}}"
    dev, admin, owner = users["developer"], users["admin"], users["owner"]
    _activate(api, dev, org)
    for role in ("billing_admin", "developer", "read_only"):
        problem(c.delete(url.format(users["read_only"].id), headers=users[role].headers), 403)
    problem(c.delete(url.format(owner.id), headers=admin.headers), 403)  # an admin removes no owner
    problem(c.delete(url.format(owner.id), headers=owner.headers), 409, "last_owner")
    assert c.delete(url.format(dev.id), headers=admin.headers).status_code == 204
    assert _active_org(api, dev) is None  # 008's trigger cleared it with the membership
    problem(c.get(f"/api/organizations/{org}", headers=dev.headers), 404)
    problem(c.delete(url.format(dev.id), headers=admin.headers), 404)
    api.add_member(org, dev, "owner")
    assert c.delete(url.format(owner.id), headers=dev.headers).status_code == 204  # another owner remains
    assert set(_roles(api, org).values()) == {"owner", "admin", "billing_admin", "read_only"}
    assert _actions(api, org).count("member.remove") == 2


def test_leaving(api: Api) -> None:
    org, users = _org_with_everyone(api)
    c = api.client
    leave = f"/api/organizations/{org}/members/leave"
    owner, ro = users["owner"], users["read_only"]
    problem(c.post(leave, headers=owner.headers), 409, "last_owner")
    _activate(api, ro, org)
    assert c.post(leave, headers=ro.headers).status_code == 204
    assert _active_org(api, ro) is None
    problem(c.post(leave, headers=ro.headers), 404)
    problem(c.post(leave, headers=api.user("eve").headers), 404)
    dev = users["developer"]
    assert (
        c.patch(
            f"/api/organizations/{org}/members/{dev.id}", json={"role": "owner"}, headers=owner.headers
        ).status_code
        == 200
    )
    assert c.post(leave, headers=owner.headers).status_code == 204  # another owner remains
    assert _roles(api, org)[dev.id] == "owner" and owner.id not in _roles(api, org)
    assert _actions(api, org).count("member.leave") == 2


async def _until_a_backend_waits_on_a_lock(api: Api, timeout: float = 30) -> None:
    """Return once a session of this database waits on a lock; fail after ``timeout`` seconds."""
    async with await psycopg.AsyncConnection.connect(api.db.app_url, autocommit=True) as conn:
        for _ in range(int(timeout / 0.02)):
            cur = await conn.execute(
                "select count(*) from pg_stat_activity"
                " where datname = current_database() and wait_event_type = 'Lock'"
            )
            if (await cur.fetchone() or (0,))[0]:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"no session waited on a lock within {timeout} s")


@pytest.mark.parametrize("mutual", [False, True], ids=["each-demotes-self", "each-demotes-other"])
def test_concurrent_demotions_leave_an_owner(api: Api, mutual: bool) -> None:
    ada, bob = api.user("ada"), api.user("bob")
    org = uuid.UUID(api.org(ada))
    api.add_member(str(org), bob, "owner")

    locked = asyncio.Event()

    async def demote(actor: User, target: User, hold: asyncio.Event | None) -> None:
        async with await psycopg.AsyncConnection.connect(api.db.app_url) as conn:
            binding = await tenant.bind(conn, token=actor.token, organization_id=org, request_id="race")
            await members.update_role(
                conn,
                organization_id=org,
                user_id=uuid.UUID(target.id),
                data=RoleChange(role="admin"),
                principal=await binding.principal(),
                origin=Origin(),
            )
            if hold is not None:  # keep the owner rows locked until the other demotion waits behind them
                locked.set()
                await hold.wait()

    async def race() -> BaseException | None:
        hold = asyncio.Event()
        first = asyncio.create_task(demote(ada, bob if mutual else ada, hold))
        await asyncio.wait_for(locked.wait(), 30)  # events, not sleeps: a loaded CI machine is slow
        second = asyncio.create_task(demote(bob, ada if mutual else bob, None))
        await _until_a_backend_waits_on_a_lock(api)
        assert not second.done()  # queued on the first one's lock of the owner rows
        hold.set()
        await first
        return (await asyncio.gather(second, return_exceptions=True))[0]

    outcome = asyncio.run(race())
    if mutual:  # bob is no longer an owner once he holds the lock: the permission is read after it
        assert isinstance(outcome, PermissionDenied)
        assert _roles(api, str(org)) == {ada.id: "owner", bob.id: "admin"}
    else:  # bob saw that ada just stepped down: he is the last owner
        assert isinstance(outcome, Conflict) and outcome.code == "last_owner"
        assert _roles(api, str(org)) == {ada.id: "admin", bob.id: "owner"}
