"""Data gates written as tests: calculation accuracy and tolerances, with the ``data`` fixture.

The schema-style rules (orphans, duplicates, NULLs, future dates, quantities) live in gates/data.toml.
"""

from __future__ import annotations

import pytest


@pytest.mark.data
def test_order_totals_match_their_items(data):
    # orders.total_cents == SUM(order_items.quantity * unit_price_cents) for every order
    data.reconcile("orders", "total_cents", child="order_items.order_id", of="quantity * unit_price_cents")


@pytest.mark.data
def test_almost_every_product_has_a_price(data):
    # A tolerance in the threshold language: a share of products without a price, in base units.
    data.not_null("products", "price_cents", thresholds=["null_rate < 1%"])
