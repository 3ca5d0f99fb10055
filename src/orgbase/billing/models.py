"""Inputs and outputs of the billing endpoints: plans, subscriptions, invoices, payment methods, add-ons."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from orgbase.auth.models import Strict

CatalogId = Annotated[str, StringConstraints(max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
BillingCycle = Literal["monthly", "yearly"]
Brand = Literal["visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "unknown"]
# A provider's token (pm_..., src_...): printable, no spaces; a card number is refused by the validator.
ProviderToken = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]

_CARD_NUMBER = re.compile(r"^[0-9]{12,19}$")


class Plan(BaseModel):
    """A plan of the catalog; a null limit is unlimited, a null price is priced by contract."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str | None
    price_monthly_cents: int | None
    max_projects: int | None
    max_members: int | None
    max_databases: int | None
    features: dict[str, Any]


class Addon(BaseModel):
    """An add-on of the catalog."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str | None
    price_monthly_cents: int


class Subscription(BaseModel):
    """An organization's subscription, with its plan."""

    id: uuid.UUID
    organization_id: uuid.UUID
    plan_id: str
    status: str
    billing_cycle: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    plan: Plan


class SubscriptionChange(Strict):
    """The plan to move to, and optionally the billing cycle (else it stays as it is)."""

    plan_id: CatalogId
    billing_cycle: BillingCycle | None = None


class Invoice(BaseModel):
    """An invoice of the organization (written by the billing job; read-only here)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    subscription_id: uuid.UUID | None
    number: str
    status: str
    currency: str
    amount_due_cents: int
    amount_paid_cents: int
    period_start: datetime | None
    period_end: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    created_at: datetime


class InvoicePage(BaseModel):
    """One page of invoices, newest first; ``next_cursor`` is null on the last page."""

    items: list[Invoice]
    next_cursor: str | None


class PaymentMethodCreate(Strict):
    """A payment method as the provider tokenized it: its token and display fields, never a card number."""

    provider: CatalogId = "stripe"
    provider_payment_method_id: ProviderToken = Field(description="the provider's token, e.g. pm_...")
    brand: Brand = "unknown"
    last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)
    is_default: bool = False

    @field_validator("provider_payment_method_id")
    @classmethod
    def _not_a_card_number(cls, value: str) -> str:
        # The same rule as 002's payment_methods_token_not_card_number, so the number never reaches the
        # database (nor its error message or log).
        if _CARD_NUMBER.match(value.replace("-", "")):
            raise ValueError("a card number is not a token: send the provider's payment method token")
        return value


class PaymentMethod(BaseModel):
    """A stored payment method."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    provider: str
    provider_payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: datetime


class SubscriptionAddonCreate(Strict):
    """An add-on to carry, and how many."""

    addon_id: CatalogId
    quantity: int = Field(default=1, ge=1, le=1000)


class SubscriptionAddon(BaseModel):
    """An add-on the subscription carries."""

    model_config = ConfigDict(from_attributes=True)

    addon_id: str
    name: str
    price_monthly_cents: int
    quantity: int
    created_at: datetime
