"""Plans and add-ons (catalogs); an organization's subscription, invoices, payment methods and add-ons."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from orgbase.api.deps import TenantConn, TenantRoute, origin
from orgbase.audit.models import Cursor
from orgbase.billing import service as billing
from orgbase.billing.models import (
    Addon,
    CatalogId,
    InvoicePage,
    PaymentMethod,
    PaymentMethodCreate,
    Plan,
    Subscription,
    SubscriptionAddon,
    SubscriptionAddonCreate,
    SubscriptionChange,
)

router = APIRouter(prefix="/api", tags=["billing"], route_class=TenantRoute)
ORG = "/organizations/{org_id}"


@router.get("/billing/plans")
async def list_plans(t: TenantConn) -> list[Plan]:
    """The plans of the catalog (any signed-in user)."""
    await t.principal()  # a bad token is a 401 here, before the catalog is read
    return await billing.list_plans(t.conn)


@router.get("/billing/addons")
async def list_addons(t: TenantConn) -> list[Addon]:
    """The add-ons of the catalog (any signed-in user)."""
    await t.principal()
    return await billing.list_addons(t.conn)


@router.get(ORG + "/subscription")
async def get_subscription(org_id: uuid.UUID, t: TenantConn) -> Subscription:
    """The organization's subscription and its plan (owner, admin, billing_admin)."""
    return await billing.get_subscription(t.conn, organization_id=org_id)


@router.put(ORG + "/subscription")
async def change_plan(
    org_id: uuid.UUID, body: SubscriptionChange, request: Request, t: TenantConn
) -> Subscription:
    """Change the plan (owner, admin, billing_admin); 409 ``plan_too_small`` if the projects do not fit."""
    return await billing.change_plan(
        t.conn, organization_id=org_id, data=body, principal=await t.principal(), origin=origin(request)
    )


@router.get(ORG + "/invoices")
async def list_invoices(
    org_id: uuid.UUID,
    t: TenantConn,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> InvoicePage:
    """One page of the organization's invoices, newest first (owner, admin, billing_admin)."""
    after = Cursor.parse(cursor)
    return await billing.list_invoices(t.conn, organization_id=org_id, limit=limit, cursor=after)


@router.get(ORG + "/payment-methods")
async def list_payment_methods(org_id: uuid.UUID, t: TenantConn) -> list[PaymentMethod]:
    """The organization's payment methods (owner, admin, billing_admin)."""
    return await billing.list_payment_methods(t.conn, organization_id=org_id)


@router.post(ORG + "/payment-methods", status_code=status.HTTP_201_CREATED)
async def add_payment_method(
    org_id: uuid.UUID, body: PaymentMethodCreate, request: Request, t: TenantConn
) -> PaymentMethod:
    """Store a provider's token and display fields, never a card number (owner, billing_admin)."""
    return await billing.add_payment_method(
        t.conn, organization_id=org_id, data=body, principal=await t.principal(), origin=origin(request)
    )


@router.delete(ORG + "/payment-methods/{payment_method_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_payment_method(
    org_id: uuid.UUID, payment_method_id: uuid.UUID, request: Request, t: TenantConn
) -> None:
    """Delete a payment method (owner, billing_admin)."""
    await billing.remove_payment_method(
        t.conn,
        organization_id=org_id,
        payment_method_id=payment_method_id,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.get(ORG + "/subscription/addons")
async def list_subscription_addons(org_id: uuid.UUID, t: TenantConn) -> list[SubscriptionAddon]:
    """The add-ons the subscription carries (owner, admin, billing_admin)."""
    return await billing.list_subscription_addons(t.conn, organization_id=org_id)


@router.post(ORG + "/subscription/addons", status_code=status.HTTP_201_CREATED)
async def add_subscription_addon(
    org_id: uuid.UUID, body: SubscriptionAddonCreate, request: Request, t: TenantConn
) -> SubscriptionAddon:
    """Carry an add-on of the catalog (owner, billing_admin); 409 if it is carried already."""
    return await billing.add_subscription_addon(
        t.conn, organization_id=org_id, data=body, principal=await t.principal(), origin=origin(request)
    )


@router.delete(ORG + "/subscription/addons/{addon_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_subscription_addon(
    org_id: uuid.UUID, addon_id: Annotated[CatalogId, Path()], request: Request, t: TenantConn
) -> None:
    """Stop carrying an add-on (owner, billing_admin)."""
    await billing.remove_subscription_addon(
        t.conn,
        organization_id=org_id,
        addon_id=addon_id,
        principal=await t.principal(),
        origin=origin(request),
    )
