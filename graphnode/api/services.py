"""What every view uses, built once per process by ``create_app``: its own module, so
that the blueprints import it without importing the package that imports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from graphnode.contract.payloads import PayloadStore
from graphnode.settings import ApiSettings
from graphnode.stores import Store

if TYPE_CHECKING:
    from graphnode.api.limits import Limiter


@dataclass
class Services:
    """What the views use, built once per process; tests pass their own."""

    settings: ApiSettings
    store: Store
    payloads: PayloadStore
    redis: Any
    limiter: Limiter


def services() -> Services:
    return current_app.extensions["graphnode"]
