"""A small shop database (the demo's schema) seeded healthy, then spoilt with known bad rows, then fixed.

Works on SQLite, PostgreSQL and MariaDB through SQLAlchemy Core; each backend gets its own throw-away
place (a temporary file, a schema, a database) named per test run, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.services import MARIADB_URL, POSTGRES_URL, require_port

metadata = sa.MetaData()
categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("slug", sa.String(40)),
    sa.Column("name", sa.String(80)),
)
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sku", sa.String(40)),
    sa.Column("name", sa.String(80)),
    sa.Column("category_id", sa.Integer),
    sa.Column("price_cents", sa.Integer),
    sa.Column("stock", sa.Integer),
    sa.Column("created_at", sa.DateTime),
)
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(80)),
    sa.Column("name", sa.String(80)),
    sa.Column("created_at", sa.DateTime),
)
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer),
    sa.Column("status", sa.String(20)),
    sa.Column("total_cents", sa.Integer),
    sa.Column("item_count", sa.Integer),
    sa.Column("created_at", sa.DateTime),
)
order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("order_id", sa.Integer),
    sa.Column("product_id", sa.Integer),
    sa.Column("quantity", sa.Integer),
    sa.Column("unit_price_cents", sa.Integer),
)

# rule id in tests/shop_rules.toml -> exactly how many violations the bad rows create
BAD_COUNTS: dict[str, int] = {
    "order_items.order_id->orders.id": 3,
    "unique(products.sku)": 2,
    "not_null(products.price_cents)": 4,
    "not_null(customers.email)": 2,
    "orders.total_cents==SUM(quantity * unit_price_cents) of order_items": 5,
    "orders.item_count==SUM(order_items.quantity)": 0,
    "no_future(orders.created_at)": 1,
    "order_items: quantity > 0": 2,
    "accepted_values(orders.status)": 1,
    "range(products.price_cents)": 1,
    "freshness(customers.created_at)": 1,
    "row_count(categories)": 1,
    "emails without @": 1,
}
# rule id -> the key values of the offending rows (the first sample column)
BAD_KEYS: dict[str, list[object]] = {
    "order_items.order_id->orders.id": [9001, 9002, 9003],
    "unique(products.sku)": ["SKU-00001", "SKU-00002"],
    "not_null(products.price_cents)": [4, 8, 12, 16],
    "not_null(customers.email)": [3, 6],
    "orders.total_cents==SUM(quantity * unit_price_cents) of order_items": [2, 4, 6, 8, 10],
    "no_future(orders.created_at)": [20],
    "order_items: quantity > 0": [9004, 9005],
    "accepted_values(orders.status)": [5],
    "range(products.price_cents)": [7],
    "emails without @": [9],
}
RULES_FILE = Path(__file__).with_name("shop_rules.toml")


def seed_healthy(engine: sa.Engine, now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    prices = {i: 100 * i for i in range(1, 21)}
    item_rows, order_rows = [], []
    for order_id in range(1, 31):
        lines = [(order_id % 20 + 1, 1), ((order_id + 7) % 20 + 1, 2)]
        for n, (product_id, quantity) in enumerate(lines):
            item_rows.append(
                {
                    "id": order_id * 10 + n,
                    "order_id": order_id,
                    "product_id": product_id,
                    "quantity": quantity,
                    "unit_price_cents": prices[product_id],
                }
            )
        order_rows.append(
            {
                "id": order_id,
                "customer_id": order_id % 10 + 1,
                "status": ("paid", "shipped", "delivered")[order_id % 3],
                "total_cents": sum(prices[p] * q for p, q in lines),
                "item_count": sum(q for _, q in lines),
                "created_at": now - dt.timedelta(hours=31 - order_id),
            }
        )
    with engine.begin() as conn:
        conn.execute(
            categories.insert(),
            [{"id": i, "slug": s, "name": s.title()} for i, s in enumerate(("coffee", "tea", "mugs"), 1)],
        )
        conn.execute(
            products.insert(),
            [
                {
                    "id": i,
                    "sku": f"SKU-{i:05d}",
                    "name": f"Product {i}",
                    "category_id": i % 3 + 1,
                    "price_cents": prices[i],
                    "stock": 5,
                    "created_at": now - dt.timedelta(days=400),
                }
                for i in range(1, 21)
            ],
        )
        conn.execute(
            customers.insert(),
            [
                {
                    "id": i,
                    "email": f"c{i}@example.com",
                    "name": f"Customer {i}",
                    "created_at": now - dt.timedelta(days=i),
                }
                for i in range(1, 11)
            ],
        )
        conn.execute(orders.insert(), order_rows)
        conn.execute(order_items.insert(), item_rows)


def spoil(engine: sa.Engine, now: dt.datetime | None = None) -> None:
    """Add exactly the problems of ``BAD_COUNTS``."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        conn.execute(
            order_items.insert(),
            [
                {"id": 9000 + n, "order_id": 9000 + n, "product_id": 1, "quantity": 1, "unit_price_cents": 100}
                for n in (1, 2, 3)
            ],
        )
        conn.execute(
            products.insert(),
            [
                {
                    "id": 9000 + n,
                    "sku": f"SKU-{n:05d}",
                    "name": "copy",
                    "category_id": 1,
                    "price_cents": 100,
                    "stock": 1,
                    "created_at": now,
                }
                for n in (1, 2)
            ],
        )
        conn.execute(products.update().where(products.c.id.in_([4, 8, 12, 16])).values(price_cents=None))
        conn.execute(products.update().where(products.c.id == 7).values(price_cents=0))
        conn.execute(customers.update().where(customers.c.id.in_([3, 6])).values(email=None))
        conn.execute(customers.update().where(customers.c.id == 9).values(email="nobody"))
        conn.execute(customers.update().where(customers.c.id == 1).values(created_at=now - dt.timedelta(days=100)))
        conn.execute(
            orders.update().where(orders.c.id.in_([2, 4, 6, 8, 10])).values(total_cents=orders.c.total_cents + 1)
        )
        conn.execute(orders.update().where(orders.c.id == 20).values(created_at=now + dt.timedelta(days=7)))
        conn.execute(orders.update().where(orders.c.id == 5).values(status="lost"))
        # Negative quantities at price 0 inside orders 11 and 12, whose stored item counts follow them.
        conn.execute(
            order_items.insert(),
            [
                {"id": 9004, "order_id": 11, "product_id": 2, "quantity": -1, "unit_price_cents": 0},
                {"id": 9005, "order_id": 12, "product_id": 2, "quantity": -1, "unit_price_cents": 0},
            ],
        )
        conn.execute(orders.update().where(orders.c.id.in_([11, 12])).values(item_count=orders.c.item_count - 1))
        conn.execute(categories.insert().values(id=4, slug="extra", name="Extra"))


def fix(engine: sa.Engine, now: dt.datetime | None = None) -> None:
    """Repair every problem ``spoil`` made, with targeted statements."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        conn.execute(order_items.delete().where(order_items.c.id >= 9000))
        conn.execute(orders.update().where(orders.c.id.in_([11, 12])).values(item_count=orders.c.item_count + 1))
        conn.execute(products.delete().where(products.c.id >= 9000))
        for product_id in (4, 7, 8, 12, 16):
            conn.execute(products.update().where(products.c.id == product_id).values(price_cents=100 * product_id))
        for customer_id in (3, 6, 9):
            conn.execute(
                customers.update().where(customers.c.id == customer_id).values(email=f"c{customer_id}@example.com")
            )
        conn.execute(customers.update().where(customers.c.id == 1).values(created_at=now - dt.timedelta(days=1)))
        conn.execute(
            orders.update().where(orders.c.id.in_([2, 4, 6, 8, 10])).values(total_cents=orders.c.total_cents - 1)
        )
        conn.execute(orders.update().where(orders.c.id == 20).values(created_at=now - dt.timedelta(hours=11)))
        conn.execute(orders.update().where(orders.c.id == 5).values(status="delivered"))
        conn.execute(categories.delete().where(categories.c.id == 4))


def run_name() -> str:
    return f"prodgate_{uuid.uuid4().hex[:10]}"


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, private database place on ``backend``; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    name = run_name()
    if backend == "postgresql":
        require_port("127.0.0.1", 5432, "PostgreSQL")
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 10})
        create, drop = f"CREATE SCHEMA {name}", f"DROP SCHEMA IF EXISTS {name} CASCADE"
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={name}"})
    else:
        require_port("127.0.0.1", 3306, "MariaDB")
        admin = sa.create_engine(MARIADB_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 10})
        create, drop = f"CREATE DATABASE {name}", f"DROP DATABASE IF EXISTS {name}"
        url = sa.make_url(MARIADB_URL).set(database=name)
    with admin.connect() as conn:
        conn.exec_driver_sql(create)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
        admin.dispose()
