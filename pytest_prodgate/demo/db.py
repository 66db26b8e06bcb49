"""The demo shop's SQLite database: created and seeded deterministically at start.

The schema is deliberately like a legacy one: primary keys and indexes, but no UNIQUE on sku or email,
no enforced foreign keys and no NOT NULL on price or email. Guarding the data is the data gates' job.

Timestamps are UTC text ``YYYY-MM-DD HH:MM:SS`` (comparable with SQLite's ``strftime``), all in the past:
products were created 400-500 days before the seed, customers 200-400 days before, orders in the last
90 days (the newest one 5-15 minutes before the seed). ``orders.total_cents`` is the sum of
``quantity * unit_price_cents`` over its items and ``orders.item_count`` the sum of their quantities.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path
from typing import Any

SEED = 20240611
CATEGORY_COUNT = 8
PRODUCT_COUNT = 200
CUSTOMER_COUNT = 100
ORDER_COUNT = 300

SCHEMA = """
CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    slug TEXT,
    name TEXT
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT,
    name TEXT,
    category_id INTEGER REFERENCES categories (id),
    price_cents INTEGER,
    stock INTEGER,
    created_at TEXT
);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT,
    name TEXT,
    created_at TEXT
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customers (id),
    status TEXT,
    total_cents INTEGER,
    item_count INTEGER,
    created_at TEXT
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER REFERENCES orders (id),
    product_id INTEGER REFERENCES products (id),
    quantity INTEGER,
    unit_price_cents INTEGER
);
CREATE INDEX ix_categories_slug ON categories (slug);
CREATE INDEX ix_products_sku ON products (sku);
CREATE INDEX ix_products_category ON products (category_id, id);
CREATE INDEX ix_products_name ON products (name);
CREATE INDEX ix_customers_email ON customers (email);
CREATE INDEX ix_orders_customer ON orders (customer_id);
CREATE INDEX ix_orders_created ON orders (created_at);
CREATE INDEX ix_order_items_order ON order_items (order_id);
CREATE INDEX ix_order_items_product ON order_items (product_id);
"""
TABLES = ("order_items", "orders", "customers", "products", "categories")

CATEGORIES = (
    ("coffee", "Coffee"),
    ("tea", "Tea"),
    ("brewing", "Brewing gear"),
    ("mugs", "Mugs and cups"),
    ("grinders", "Grinders"),
    ("kettles", "Kettles"),
    ("snacks", "Snacks"),
    ("gifts", "Gift sets"),
)
ADJECTIVES = (
    "Classic",
    "Bold",
    "Smooth",
    "Organic",
    "Single-origin",
    "Travel",
    "Deluxe",
    "Everyday",
    "Nordic",
    "Alpine",
)
NOUNS = {
    "coffee": ("Espresso", "Filter roast", "Decaf", "House blend", "Cold brew"),
    "tea": ("Earl Grey", "Sencha", "Rooibos", "Chai", "Oolong"),
    "brewing": ("Pour-over cone", "French press", "Aeropress", "Moka pot", "Scale"),
    "mugs": ("Mug", "Cup", "Tumbler", "Espresso cup", "Thermos"),
    "grinders": ("Burr grinder", "Hand grinder", "Blade grinder", "Conical grinder", "Travel grinder"),
    "kettles": ("Gooseneck kettle", "Electric kettle", "Stovetop kettle", "Kettle", "Tea kettle"),
    "snacks": ("Biscotti", "Shortbread", "Chocolate", "Almonds", "Waffles"),
    "gifts": ("Gift box", "Sampler", "Tasting set", "Hamper", "Starter kit"),
}
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Ema", "Femi", "Greta", "Hugo", "Ines", "Jon", "Kai", "Lena")
LAST_NAMES = ("Meyer", "Novak", "Okafor", "Park", "Quinn", "Rossi", "Silva", "Tanaka", "Ueda", "Varga")
STATUSES = ("paid", "paid", "paid", "shipped", "shipped", "delivered", "delivered", "cancelled")


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def create_database(path: Path, *, now: dt.datetime | None = None) -> None:
    """Create the demo tables in ``path`` (dropping earlier ones) and seed them deterministically."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    rng = random.Random(SEED)
    conn = sqlite3.connect(path)
    try:
        with conn:
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.executescript(SCHEMA)
            _seed(conn, rng, now)
    finally:
        conn.close()


def _seed(conn: sqlite3.Connection, rng: random.Random, now: dt.datetime) -> None:
    conn.executemany(
        "INSERT INTO categories (id, slug, name) VALUES (?, ?, ?)",
        [(i, slug, name) for i, (slug, name) in enumerate(CATEGORIES[:CATEGORY_COUNT], start=1)],
    )
    products = []
    for product_id in range(1, PRODUCT_COUNT + 1):
        category_id = (product_id - 1) % CATEGORY_COUNT + 1
        slug = CATEGORIES[category_id - 1][0]
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS[slug])} No. {product_id}"
        price = rng.randrange(299, 15_000)
        created = now - dt.timedelta(days=400 + rng.random() * 100)
        products.append(
            (product_id, f"SKU-{product_id:05d}", name, category_id, price, rng.randrange(0, 120), _stamp(created))
        )
    conn.executemany(
        "INSERT INTO products (id, sku, name, category_id, price_cents, stock, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        products,
    )
    customers = []
    for customer_id in range(1, CUSTOMER_COUNT + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}.{customer_id}@example.com"
        created = now - dt.timedelta(days=200 + rng.random() * 200)
        customers.append((customer_id, email, f"{first} {last}", _stamp(created)))
    conn.executemany("INSERT INTO customers (id, email, name, created_at) VALUES (?, ?, ?, ?)", customers)
    prices = {row[0]: row[4] for row in products}
    orders, items = [], []
    item_id = 0
    for order_id in range(1, ORDER_COUNT + 1):
        # Order ids grow with time: the oldest about 90 days ago, the newest 5 minutes before the seed.
        age = dt.timedelta(minutes=5) + dt.timedelta(days=90) * (ORDER_COUNT - order_id) / ORDER_COUNT
        created = now - age - dt.timedelta(seconds=rng.randrange(0, 600))
        total = count = 0
        for product_id in rng.sample(range(1, PRODUCT_COUNT + 1), rng.randint(1, 5)):
            item_id += 1
            quantity = rng.randint(1, 4)
            items.append((item_id, order_id, product_id, quantity, prices[product_id]))
            total += quantity * prices[product_id]
            count += quantity
        orders.append((order_id, rng.randint(1, CUSTOMER_COUNT), rng.choice(STATUSES), total, count, _stamp(created)))
    conn.executemany(
        "INSERT INTO orders (id, customer_id, status, total_cents, item_count, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO order_items (id, order_id, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)",
        items,
    )


PRODUCT_COLUMNS = (
    "SELECT p.id, p.sku, p.name, c.slug, p.price_cents, p.stock, p.created_at "
    "FROM products AS p LEFT JOIN categories AS c ON c.id = p.category_id "
)


def _product(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "sku": row[1],
        "name": row[2],
        "category": row[3],
        "price_cents": row[4],
        "stock": row[5],
        "created_at": row[6],
    }


class Catalogue:
    """The shop's read queries over one connection, used from the server's event loop thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)

    def close(self) -> None:
        self.conn.close()

    def ping(self) -> None:
        """``SELECT 1``: raises ``sqlite3.Error`` when the database does not answer."""
        self.conn.execute("SELECT 1").fetchone()

    def products(self, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
        total = self.conn.execute("SELECT COUNT(*) FROM products").fetchone()[0]
        rows = self.conn.execute(PRODUCT_COLUMNS + "ORDER BY p.id LIMIT ? OFFSET ?", (per_page, (page - 1) * per_page))
        return int(total), [_product(row) for row in rows]

    def product(self, product_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(PRODUCT_COLUMNS + "WHERE p.id = ?", (product_id,)).fetchone()
        return None if row is None else _product(row)

    def search(self, query: str, limit: int = 50) -> list[dict[str, Any]]:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.conn.execute(
            PRODUCT_COLUMNS + "WHERE p.name LIKE ? ESCAPE '\\' OR p.sku LIKE ? ESCAPE '\\' ORDER BY p.id LIMIT ?",
            (pattern, pattern, limit),
        )
        return [_product(row) for row in rows]

    def categories(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT c.id, c.slug, c.name, (SELECT COUNT(*) FROM products AS p WHERE p.category_id = c.id) "
            "FROM categories AS c ORDER BY c.id"
        )
        return [{"id": r[0], "slug": r[1], "name": r[2], "product_count": r[3]} for r in rows]

    def category(self, slug: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        row = self.conn.execute("SELECT id, slug, name FROM categories WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            return None
        rows = self.conn.execute(PRODUCT_COLUMNS + "WHERE p.category_id = ? ORDER BY p.id LIMIT 100", (row[0],))
        return {"id": row[0], "slug": row[1], "name": row[2]}, [_product(r) for r in rows]
