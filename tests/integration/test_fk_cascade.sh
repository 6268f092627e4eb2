#!/usr/bin/env bash
# Issue 11, foreign keys: MariaDB does not binlog the rows an ON DELETE /
# ON UPDATE CASCADE or SET NULL changes, and cotter applies with
# foreign_key_checks=0, so before the fix a shop workload left orphan order
# items on the target. A real shop schema (customers -> orders ->
# order_items, ON DELETE CASCADE; order_items.product_id ON DELETE SET NULL;
# orders.customer_id and order_items.order_code ON UPDATE CASCADE; a
# self-referencing category tree, ON DELETE CASCADE) gets a mixed workload
# sent with pymysql (inserts, deletes of parents, parent key updates, parents
# deleted in the transaction that inserted their children), streamed once
# serially into dst.shop and once with load.parallelism: 4 into a renamed
# copy dst.shop_r (the target's keys are found under the routed names). Each
# time the target must equal the source (ordered full-row dump and CHECKSUM
# TABLE) with no orphan. Then `cotter doctor` must warn about a cascade the
# target cannot honour (the target's FK dropped) and not about the others.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

PY=/usr/bin/python3
$PY -c 'import pymysql' 2>/dev/null || fail "python3-pymysql is needed (scripts/install-deps.sh)"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"

schema_sql() {
  cat <<'EOF'
CREATE DATABASE shop; USE shop;
CREATE TABLE categories (
  id INT NOT NULL PRIMARY KEY,
  parent_id INT NULL,
  name VARCHAR(40) NOT NULL,
  CONSTRAINT fk_cat_parent FOREIGN KEY (parent_id) REFERENCES categories (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE products (
  id INT NOT NULL PRIMARY KEY,
  category_id INT NULL,
  name VARCHAR(40) NOT NULL,
  CONSTRAINT fk_prod_cat FOREIGN KEY (category_id) REFERENCES categories (id) ON DELETE SET NULL
) ENGINE=InnoDB;
CREATE TABLE customers (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NOT NULL
) ENGINE=InnoDB;
CREATE TABLE orders (
  id INT NOT NULL PRIMARY KEY,
  customer_id INT NOT NULL,
  code VARCHAR(20) NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  UNIQUE KEY uk_code (code),
  CONSTRAINT fk_order_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB;
CREATE TABLE order_items (
  id INT NOT NULL PRIMARY KEY,
  order_id INT NOT NULL,
  order_code VARCHAR(20) NOT NULL,
  product_id INT NULL,
  qty INT NOT NULL,
  CONSTRAINT fk_item_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
  CONSTRAINT fk_item_code FOREIGN KEY (order_code) REFERENCES orders (code) ON UPDATE CASCADE,
  CONSTRAINT fk_item_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE SET NULL
) ENGINE=InnoDB;
EOF
}
schema_sql | mdb src || fail "creating the shop schema on the source"
schema_sql | mdb dst || fail "creating the shop schema on the target"

# workload SEED N: N transactions on the source, sent as a connector sends them.
workload() {
  $PY - "$src_PORT" "$1" "$2" <<'PY'
import random, sys
import pymysql
port, seed, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
db = pymysql.connect(host="127.0.0.1", port=port, user="root", database="shop", autocommit=False)
cur = db.cursor()
base = seed * 1000000
nid = [base]
def new_id():
    nid[0] += 1
    return nid[0]
def some(table):
    cur.execute(f"SELECT id FROM {table} ORDER BY RAND({rnd.randrange(1 << 30)}) LIMIT 1")
    r = cur.fetchone()
    return r[0] if r else None
def add_order(cust):
    oid = new_id()
    code = f"c{oid}"
    cur.execute("INSERT INTO orders VALUES (%s,%s,%s,%s)", (oid, cust, code, rnd.randrange(1, 9999)))
    for _ in range(rnd.randrange(1, 4)):
        cur.execute("INSERT INTO order_items VALUES (%s,%s,%s,%s,%s)",
                    (new_id(), oid, code, some("products"), rnd.randrange(1, 5)))
    return oid
# a catalogue: a category tree three levels deep, products in it
for _ in range(4):
    root = new_id()
    cur.execute("INSERT INTO categories VALUES (%s,NULL,%s)", (root, f"r{root}"))
    for _ in range(2):
        mid = new_id()
        cur.execute("INSERT INTO categories VALUES (%s,%s,%s)", (mid, root, f"m{mid}"))
        for _ in range(2):
            leaf = new_id()
            cur.execute("INSERT INTO categories VALUES (%s,%s,%s)", (leaf, mid, f"l{leaf}"))
            for _ in range(3):
                cur.execute("INSERT INTO products VALUES (%s,%s,%s)", (new_id(), leaf, "p"))
db.commit()
for i in range(n):
    r = rnd.random()
    if r < 0.25 or some("customers") is None:
        cust = new_id()
        cur.execute("INSERT INTO customers VALUES (%s,%s)", (cust, f"n{cust}"))
        add_order(cust)
    elif r < 0.45:
        add_order(some("customers"))
    elif r < 0.55:    # a customer goes: orders and their items cascade
        cur.execute("DELETE FROM customers WHERE id=%s", (some("customers"),))
    elif r < 0.63:    # an order goes: its items cascade
        o = some("orders")
        if o: cur.execute("DELETE FROM orders WHERE id=%s", (o,))
    elif r < 0.70:    # an order with items, cancelled in the same transaction
        cust = new_id()
        cur.execute("INSERT INTO customers VALUES (%s,%s)", (cust, f"n{cust}"))
        oid = add_order(cust)
        cur.execute("DELETE FROM orders WHERE id=%s", (oid,))
    elif r < 0.76:    # a new order code: order_items.order_code follows (ON UPDATE CASCADE)
        o = some("orders")
        if o: cur.execute("UPDATE orders SET code=CONCAT('x', id, '-', %s) WHERE id=%s", (i, o))
    elif r < 0.81:    # a customer's key changes: orders.customer_id follows
        c = some("customers")
        if c: cur.execute("UPDATE customers SET id=%s WHERE id=%s", (new_id(), c))
    elif r < 0.85:    # a product goes: items keep the row, product_id set NULL
        p = some("products")
        if p: cur.execute("DELETE FROM products WHERE id=%s", (p,))
    elif r < 0.87:    # a subtree of categories goes (self reference, two levels)
        cur.execute("SELECT id FROM categories WHERE parent_id IS NOT NULL AND id IN "
                    "(SELECT parent_id FROM categories) LIMIT 1")
        row = cur.fetchone()
        if row: cur.execute("DELETE FROM categories WHERE id=%s", row)
    else:             # an order is inserted and its customer deleted right after, two transactions
        cust = new_id()
        cur.execute("INSERT INTO customers VALUES (%s,%s)", (cust, f"n{cust}"))
        add_order(cust)
        db.commit()
        cur.execute("DELETE FROM customers WHERE id=%s", (cust,))
    db.commit()
db.close()
PY
}

# big_tx SEED: one transaction of some 130 rows: a customer with three orders
# of 40 items, then another customer (and its orders and items) deleted, so
# the cascading delete comes in the last chunk of a transaction split over
# chunks (batch.rows 50).
big_tx() {
  $PY - "$src_PORT" "$1" <<'PY'
import sys
import pymysql
port, seed = int(sys.argv[1]), int(sys.argv[2])
db = pymysql.connect(host="127.0.0.1", port=port, user="root", database="shop", autocommit=False)
cur = db.cursor()
nid = seed * 1000000
cur.execute("SELECT MIN(id) FROM customers WHERE id IN (SELECT customer_id FROM orders)")
victim = cur.fetchone()[0]
cur.execute("INSERT INTO customers VALUES (%s,'big')", (nid,))
for o in range(1, 4):
    oid = nid + o * 100
    cur.execute("INSERT INTO orders VALUES (%s,%s,%s,1)", (oid, nid, f"big{oid}"))
    for k in range(1, 41):
        cur.execute("INSERT INTO order_items VALUES (%s,%s,%s,NULL,1)", (oid + k, oid, f"big{oid}"))
cur.execute("DELETE FROM customers WHERE id=%s", (victim,))
db.commit()
PY
}

orphans() { # orphans SERVER [SCHEMA]: child rows whose parent is gone, any of the six FKs
  mdb_sql "$1" "USE ${2:-shop}; SELECT
    (SELECT COUNT(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL)
  + (SELECT COUNT(*) FROM order_items i LEFT JOIN orders o ON o.code = i.order_code WHERE o.id IS NULL)
  + (SELECT COUNT(*) FROM order_items i LEFT JOIN products p ON p.id = i.product_id
       WHERE i.product_id IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL)
  + (SELECT COUNT(*) FROM categories k LEFT JOIN categories p ON p.id = k.parent_id
       WHERE k.parent_id IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM products k LEFT JOIN categories p ON p.id = k.category_id
       WHERE k.category_id IS NOT NULL AND p.id IS NULL)"
}

checksums() { # checksums SERVER [SCHEMA]: CHECKSUM TABLE of every shop table
  mdb_sql "$1" "USE ${2:-shop}; CHECKSUM TABLE categories, products, customers, orders,
                order_items" | sed 's/^[^.]*\.//'
}

# pass NAME SEED N TARGET_SCHEMA: stream a workload through cotter, then compare.
pass() {
  local name=$1 ts=$4
  cotter_start
  cotter_wait_streaming 30
  local t0=$SECONDS
  workload "$2" "$3" || fail "$name: the workload failed"
  note "$name: workload of $3 transactions sent in $(( SECONDS - t0 ))s"
  wait_synced src dst shop 90 "$ts" || fail "$name: the target differs from the source (orphans on the target: $(orphans dst "$ts"))"
  note "$name: source and target equal $(( SECONDS - t0 ))s after the workload started"
  assert_eq "0" "$(orphans src)" "$name: orphans on the source (the workload is wrong)"
  assert_eq "0" "$(orphans dst "$ts")" "$name: orphan rows on the target"
  assert_eq "$(checksums src)" "$(checksums dst "$ts")" "$name: CHECKSUM TABLE source vs target"
  note "$name: rows $(db_row_counts dst "$ts" | tr '\n' ' ')"
  cotter_stop 30
}

section "serial apply"
COTTER_PIPELINE_EXTRA=""
cotter_config src dst "shop.*"
pass serial 1 500 shop

section "parallel apply (load.parallelism: 4) into renamed tables"
# shop_r starts as a copy of shop (same keys); a new pipeline starts at the
# source's end, where the first one stopped
{ echo "SET foreign_key_checks=0;"; schema_sql | sed 's/^CREATE DATABASE shop; USE shop;/CREATE DATABASE shop_r; USE shop_r;/'
  for t in categories products customers orders order_items; do
    echo "INSERT INTO shop_r.$t SELECT * FROM shop.$t;"
  done; } | mdb dst || fail "copying shop to shop_r on the target"
COTTER_PIPELINE=p2
COTTER_PIPELINE_EXTRA="        load: { parallelism: 4 }
        batch: { rows: 50 }"
cotter_config src dst "shop.*=>shop_r.{table}"
pass parallel 2 500 shop_r
grep -q "4 load workers" "$COTTER_LOG" || fail "no parallel load workers were started"

section "parallel: a cascade inside a transaction split over chunks"
cotter_start
cotter_wait_streaming 30
mark=$(cotter_log_mark)
big_tx 3 || fail "the big transaction failed"
wait_synced src dst shop 60 shop_r || fail "big transaction: the target differs from the source"
assert_eq "0" "$(orphans dst shop_r)" "big transaction: orphan rows on the target"
cotter_log_since "$mark" | grep -q "applying it again serially" ||
  fail "the cascade inside a split transaction was not applied serially on a second try"
note "$(cotter_log_since "$mark" | grep -m1 "applying it again serially" | cut -c1-300)"
cotter_stop 30

section "doctor: a cascade the target cannot honour"
mdb_sql dst "ALTER TABLE shop_r.order_items DROP FOREIGN KEY fk_item_order" || fail "dropping the FK"
out=$("$COTTER_BIN" doctor -c "$COTTER_CFG" 2>&1)
echo "$out" | grep -i "cascade" | sed 's/^/  | /' >&2
echo "$out" | grep -qiE "WARN.*fk_item_order|fk_item_order.*(not|lacks|missing)" ||
  fail "doctor did not warn that the target lacks fk_item_order (ON DELETE CASCADE)"
echo "$out" | grep -iE "fk_item_code|fk_order_customer" | grep -qi WARN &&
  fail "doctor warned about a cascade the target honours"
# the pipeline says it too when it starts
cotter_start
cotter_wait_streaming 30
cotter_log_since "$COTTER_START_MARK" | grep -q "WARN.*foreign key shop.order_items.fk_item_order" ||
  fail "the pipeline did not warn at start that the target lacks fk_item_order"
cotter_stop 30

section "doctor: the child table not mapped"
cotter_config src dst "shop.customers=>shop_r.customers" "shop.orders=>shop_r.orders"
out=$("$COTTER_BIN" doctor -c "$COTTER_CFG" 2>&1)
echo "$out" | grep -E "fk_item|fk_order" | sed 's/^/  | /' >&2
echo "$out" | grep -E "WARN.*fk_item_code" | grep -q "does not map" ||
  fail "doctor did not warn that order_items (child of the mapped orders) is not mapped"
echo "$out" | grep -qE "OK .*fk_order_customer" ||
  fail "doctor did not find fk_order_customer honoured on the target"

section "PASS: cascades reach the target, serially and in parallel"
