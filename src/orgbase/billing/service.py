"""Billing: the catalogs, an organization's subscription (change of plan), invoices, payment methods, add-ons.

Every query of an organization's rows names the organization of the path itself (``organization_id = %s``):
application filtering is a layer of its own, under RLS. Reads need ``billing.read``; a change of plan
``billing.change_plan`` (owner, admin, billing_admin); payment methods and add-ons ``billing.update``.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import class_row, dict_row

from orgbase.audit import service as audit
from orgbase.audit.models import Cursor
from orgbase.billing.models import (
    Addon,
    Invoice,
    InvoicePage,
    PaymentMethod,
    PaymentMethodCreate,
    Plan,
    Subscription,
    SubscriptionAddon,
    SubscriptionAddonCreate,
    SubscriptionChange,
)
from orgbase.db.pool import execute_last
from orgbase.db.tenant import Principal
from orgbase.errors import Conflict, InvalidInput, NotFound
from orgbase.orgs import service as orgs

Conn = psycopg.AsyncConnection[Any]
Query = str | sql.Composable
T = TypeVar("T")

_PLANS = """
select id, name, description, price_monthly_cents, max_projects, max_members, max_databases, features
  from platform.billing_plans
 where is_active
"""
_SUBSCRIPTION = """
select s.id, s.organization_id, s.plan_id, s.status, s.billing_cycle, s.current_period_start,
       s.current_period_end, s.cancel_at_period_end, s.canceled_at, s.created_at, s.updated_at,
       (select to_jsonb(p) from (select p.id, p.name, p.description, p.price_monthly_cents, p.max_projects,
                                        p.max_members, p.max_databases, p.features
                                   from platform.billing_plans p where p.id = s.plan_id) p) as plan
  from platform.subscriptions s
 where s.organization_id = %s
"""
# The subscription row is the organization's quota lock (projects.create takes it too): a downgrade and a
# concurrent project create queue on it, so the count below cannot be overtaken.
_LOCK = "select id, plan_id, billing_cycle from platform.subscriptions where organization_id = %s for update"
_INVOICES = """
select id, organization_id, subscription_id, number, status, currency, amount_due_cents, amount_paid_cents,
       period_start, period_end, due_at, paid_at, created_at
  from platform.invoices
 where organization_id = %(org)s
"""
_METHOD = sql.SQL(
    "id, organization_id, provider, provider_payment_method_id, brand, last4, exp_month, exp_year,"
    " is_default, created_at"
)
_ADD_METHOD = sql.SQL("""
insert into platform.payment_methods
       (organization_id, provider, provider_payment_method_id, brand, last4, exp_month, exp_year, is_default)
values (%(org)s, %(provider)s, %(provider_payment_method_id)s, %(brand)s, %(last4)s, %(exp_month)s,
        %(exp_year)s, %(is_default)s)
returning {}
""").format(_METHOD)
_ADDONS = """
select a.addon_id, c.name, c.price_monthly_cents, a.quantity, a.created_at
  from platform.subscription_addons a join platform.addons_catalog c on c.id = a.addon_id
 where a.organization_id = %s
"""


async def list_plans(conn: Conn) -> list[Plan]:
    """The active plans of the catalog, in the catalog's order."""
    return await _all(conn, Plan, _PLANS + " order by sort_order, id")


async def list_addons(conn: Conn) -> list[Addon]:
    """The active add-ons of the catalog."""
    query = "select id, name, description, price_monthly_cents from platform.addons_catalog where is_active"
    return await _all(conn, Addon, query + " order by id")


async def get_subscription(conn: Conn, *, organization_id: uuid.UUID) -> Subscription:
    """The organization's subscription with its plan (``billing.read``).

    Its last query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="billing.read")
    return Subscription.model_validate(await _row(conn, _SUBSCRIPTION, organization_id, last=True))


async def change_plan(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    data: SubscriptionChange,
    principal: Principal,
    origin: audit.Origin,
) -> Subscription:
    """Move to another plan (``billing.change_plan``); Conflict if the projects exceed its limit.

    Its last query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="billing.change_plan")
    current = await _row(conn, _LOCK, organization_id)
    plan = await _one(conn, Plan, _PLANS + " and id = %s", [data.plan_id])
    if plan is None:
        raise InvalidInput(f"no plan {data.plan_id!r} in the catalog", code="unknown_plan")
    await _check_fits(conn, organization_id=organization_id, plan=plan)
    before = {"plan_id": current["plan_id"], "billing_cycle": current["billing_cycle"]}
    after = {"plan_id": plan.id, "billing_cycle": data.billing_cycle or current["billing_cycle"]}
    if after != before:
        await conn.execute(
            "update platform.subscriptions set plan_id = %s, billing_cycle = %s where organization_id = %s",
            [after["plan_id"], after["billing_cycle"], organization_id],
        )
        changes = {"before": before, "after": after}
        await _audit(
            conn, principal, origin, organization_id, "subscription.change_plan", current["id"], changes
        )
    return Subscription.model_validate(await _row(conn, _SUBSCRIPTION, organization_id, last=True))


async def list_invoices(
    conn: Conn, *, organization_id: uuid.UUID, limit: int = 50, cursor: Cursor | None = None
) -> InvoicePage:
    """One page of the organization's invoices, newest first (``billing.read``)."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.read")
    query, params = _INVOICES, {"org": organization_id, "limit": limit + 1}
    if cursor is not None:
        query += " and created_at <= %(at)s and (created_at, id) < (%(at)s, %(id)s)"
        params.update(at=cursor.created_at, id=cursor.id)
    rows = await _all(conn, Invoice, query + " order by created_at desc, id desc limit %(limit)s", params)
    if len(rows) <= limit:
        return InvoicePage(items=rows, next_cursor=None)
    last = rows[limit - 1]
    return InvoicePage(items=rows[:limit], next_cursor=Cursor(last.created_at, last.id).encode())


async def list_payment_methods(conn: Conn, *, organization_id: uuid.UUID) -> list[PaymentMethod]:
    """The organization's payment methods, oldest first (``billing.read``)."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.read")
    query = sql.SQL(
        "select {} from platform.payment_methods where organization_id = %s order by created_at, id"
    )
    return await _all(conn, PaymentMethod, query.format(_METHOD), [organization_id])


async def add_payment_method(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    data: PaymentMethodCreate,
    principal: Principal,
    origin: audit.Origin,
) -> PaymentMethod:
    """Store a tokenized payment method (``billing.update``); a new default replaces the old one."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.update")
    if data.is_default:
        await conn.execute(
            "update platform.payment_methods set is_default = false"
            " where organization_id = %s and is_default",
            [organization_id],
        )
    method = await _one(conn, PaymentMethod, _ADD_METHOD, {**data.model_dump(), "org": organization_id})
    assert method is not None
    # Display fields only: the provider's token stays out of the trail.
    changes = data.model_dump(exclude={"provider_payment_method_id"})
    await _audit(conn, principal, origin, organization_id, "payment_method.add", method.id, changes)
    return method


async def remove_payment_method(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    payment_method_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
) -> None:
    """Delete one of the organization's payment methods (``billing.update``); NotFound for any other."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.update")
    cur = await conn.execute(
        "delete from platform.payment_methods where id = %s and organization_id = %s returning brand, last4",
        [payment_method_id, organization_id],
    )
    gone = await cur.fetchone()
    if gone is None:
        raise NotFound("payment method not found")
    changes = {"brand": gone[0], "last4": gone[1]}
    await _audit(
        conn, principal, origin, organization_id, "payment_method.remove", payment_method_id, changes
    )


async def list_subscription_addons(conn: Conn, *, organization_id: uuid.UUID) -> list[SubscriptionAddon]:
    """The add-ons the organization's subscription carries (``billing.read``)."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.read")
    return await _all(conn, SubscriptionAddon, _ADDONS + " order by a.addon_id", [organization_id])


async def add_subscription_addon(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    data: SubscriptionAddonCreate,
    principal: Principal,
    origin: audit.Origin,
) -> SubscriptionAddon:
    """Carry an add-on of the catalog (``billing.update``); Conflict if it is carried already."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.update")
    subscription = await _row(conn, _LOCK, organization_id)
    cur = await conn.execute(
        "select 1 from platform.addons_catalog where id = %s and is_active", [data.addon_id]
    )
    if await cur.fetchone() is None:
        raise InvalidInput(f"no add-on {data.addon_id!r} in the catalog", code="unknown_addon")
    await conn.execute(
        "insert into platform.subscription_addons (organization_id, subscription_id, addon_id, quantity)"
        " values (%s, %s, %s, %s)",
        [organization_id, subscription["id"], data.addon_id, data.quantity],
    )
    changes = {"addon_id": data.addon_id, "quantity": data.quantity}
    await _audit(
        conn, principal, origin, organization_id, "subscription.addon_add", subscription["id"], changes
    )
    added = await _one(
        conn, SubscriptionAddon, _ADDONS + " and a.addon_id = %s", [organization_id, data.addon_id]
    )
    assert added is not None
    return added


async def remove_subscription_addon(
    conn: Conn, *, organization_id: uuid.UUID, addon_id: str, principal: Principal, origin: audit.Origin
) -> None:
    """Stop carrying an add-on (``billing.update``); NotFound if the subscription does not carry it."""
    await orgs.require(conn, organization_id=organization_id, permission="billing.update")
    cur = await conn.execute(
        "delete from platform.subscription_addons where organization_id = %s and addon_id = %s"
        " returning subscription_id, quantity",
        [organization_id, addon_id],
    )
    gone = await cur.fetchone()
    if gone is None:
        raise NotFound("add-on not found on this subscription")
    changes = {"addon_id": addon_id, "quantity": gone[1]}
    await _audit(conn, principal, origin, organization_id, "subscription.addon_remove", gone[0], changes)


async def _row(conn: Conn, query: str, organization_id: uuid.UUID, *, last: bool = False) -> dict[str, Any]:
    """The subscription's row; ``last``: the request's last statement (``execute_last``)."""
    cur = conn.cursor(row_factory=dict_row)
    if last:
        await execute_last(cur, query, [organization_id])
    else:
        await cur.execute(query, [organization_id])
    row = await cur.fetchone()
    if row is None:  # made with the organization (create_organization): its absence is not the caller's fault
        raise NotFound("the organization has no subscription", code="no_subscription")
    return row


async def _check_fits(conn: Conn, *, organization_id: uuid.UUID, plan: Plan) -> None:
    if plan.max_projects is None:  # unlimited
        return
    # A statement of its own, after the lock: under READ COMMITTED it sees projects committed while we waited.
    cur = await conn.execute(
        "select count(*) from platform.projects where organization_id = %s", [organization_id]
    )
    count = (await cur.fetchone() or (0,))[0]
    if count > plan.max_projects:
        raise Conflict(
            f"the {plan.name} plan allows {plan.max_projects} projects and the organization has {count}:"
            f" delete {count - plan.max_projects} before moving to it",
            code="plan_too_small",
        )


async def _all(conn: Conn, model: type[T], query: Query, params: Any = None) -> list[T]:
    # Every caller lists as its last statement: it ends a request's transaction (``execute_last``).
    cur = conn.cursor(row_factory=class_row(model))
    await execute_last(cur, query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


async def _one(conn: Conn, model: type[T], query: Query, params: Any = None) -> T | None:
    cur = conn.cursor(row_factory=class_row(model))
    await cur.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchone()


async def _audit(
    conn: Conn, by: Principal, origin: audit.Origin, org: uuid.UUID, action: str, target: object, changes: Any
) -> None:
    kind = action.partition(".")[0]  # the target type: subscription.change_plan -> subscription
    who: dict[str, Any] = {
        "organization_id": org,
        "actor_id": by.user_id,
        "target_type": kind,
        "target_id": target,
    }
    await audit.record(conn, action=action, origin=origin, changes=changes, **who)
