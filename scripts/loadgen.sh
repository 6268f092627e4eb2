#!/usr/bin/env bash
# Load generator of the demo: a small web shop (users, products, orders and a
# keyless order_events log) written to by one mariadb client in transactions.
#
#   loadgen.sh schema              print the DDL of the shop schema (run it on both sides)
#   loadgen.sh seed                print the SQL of the initial rows
#   loadgen.sh run DEFAULTS_FILE   write transactions until SIGTERM/SIGINT
#
# `run` reads the current ids from the server first, so it can be restarted.
# LOADGEN_TPS (default 60) is the number of transactions per second; each has
# 2-12 row changes, so the default gives a few hundred row changes per second.
# At stop it finishes the transaction it is writing, closes the client and
# prints a summary line on stderr. Exit status: 0 on a clean stop, the
# client's status if the client died (a failed statement is printed by it).
set -euo pipefail

SCHEMA=${LOADGEN_SCHEMA:-shop}

loadgen_schema() {
  cat <<SQL
CREATE DATABASE IF NOT EXISTS $SCHEMA CHARACTER SET utf8mb4;
USE $SCHEMA;
CREATE TABLE IF NOT EXISTS users (
  id         INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name       VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
  email      VARCHAR(190) NOT NULL,
  birthday   DATE NULL,
  vip        BIT(1) NOT NULL DEFAULT b'0',
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY uk_email (email)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS products (
  id         INT UNSIGNED NOT NULL PRIMARY KEY,
  sku        CHAR(10) CHARACTER SET latin1 NOT NULL,
  name       VARCHAR(200) CHARACTER SET utf8mb4 NOT NULL,
  price      DECIMAL(10,2) NOT NULL,
  stock      SMALLINT NOT NULL,
  rating     FLOAT NULL,
  flags      SET('new','sale','eco','fragile') NOT NULL DEFAULT '',
  attrs      JSON NULL,
  thumbnail  BLOB NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS orders (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id    INT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  qty        TINYINT UNSIGNED NOT NULL,
  total      DECIMAL(12,2) NOT NULL,
  status     ENUM('new','paid','shipped','delivered','cancelled') NOT NULL DEFAULT 'new',
  created_at DATETIME(3) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY k_user (user_id)
) ENGINE=InnoDB;
-- an append-mostly log without any key: applied row by row, duplicates allowed
CREATE TABLE IF NOT EXISTS order_events (
  order_id BIGINT UNSIGNED NOT NULL,
  event    VARCHAR(32) NOT NULL,
  at       DATETIME(3) NOT NULL,
  note     TEXT CHARACTER SET utf8mb4 NULL
) ENGINE=InnoDB;
SQL
}

# Names with quotes, accents, CJK and emoji (4-byte UTF-8).
NAMES=("Ana 🌻" "Jürgen Groß" "李雷" "Zoë 🚀" "O''Brien" "Søren" "Amélie" "Олег" "Fatima 🧕"
  "Ngozi" "Kenji 🍣" "María José" "Łukasz" "Priya 🪔" "Émile" "Chloé 😀")
PRODUCTS=("Tea pot 🫖" "Café crème" "Bike bell 🔔" "Rice cooker" "Lamp" "Noodles 🍜" "Plant 🌵"
  "Socks" "Mug ☕" "Über-Kabel")
STATUS=(new paid shipped delivered cancelled)

loadgen_seed() {
  cat <<SQL
USE $SCHEMA;
SET @names = JSON_ARRAY($(printf "'%s'," "${NAMES[@]}" | sed 's/,$//'));
SET @pnames = JSON_ARRAY($(printf "'%s'," "${PRODUCTS[@]}" | sed 's/,$//'));
START TRANSACTION;
INSERT INTO users (id, name, email, birthday, vip, created_at)
  SELECT seq, CONCAT(JSON_UNQUOTE(JSON_EXTRACT(@names, CONCAT('\$[', seq % ${#NAMES[@]}, ']'))), ' #', seq),
         CONCAT('user', seq, '@example.com'),
         IF(seq % 7 = 0, NULL, DATE('1970-01-01') + INTERVAL (seq * 97) % 15000 DAY),
         seq % 5 = 0, NOW(3) - INTERVAL seq MINUTE
  FROM seq_1_to_200;
INSERT INTO products (id, sku, name, price, stock, rating, flags, attrs, thumbnail)
  SELECT seq, CONCAT('SKU-', LPAD(seq, 6, '0')),
         CONCAT(JSON_UNQUOTE(JSON_EXTRACT(@pnames, CONCAT('\$[', seq % ${#PRODUCTS[@]}, ']'))), ' ', seq),
         ROUND(1 + (seq * 37) % 20000 / 100, 2), 100 + seq % 50, IF(seq % 4 = 0, NULL, (seq % 50) / 10),
         (seq % 16),
         JSON_OBJECT('color', ELT(1 + seq % 3, 'red', 'green', 'blue'), 'weight_g', seq * 10,
                     'tags', JSON_ARRAY('demo', CONCAT('t', seq % 5))),
         IF(seq % 3 = 0, NULL, RANDOM_BYTES(32 + seq % 64))
  FROM seq_1_to_50;
INSERT INTO orders (id, user_id, product_id, qty, total, status, created_at)
  SELECT seq, 1 + seq % 200, 1 + seq % 50, 1 + seq % 5, (1 + seq % 5) * (1 + (seq % 997) / 10),
         ELT(1 + seq % 5, 'new', 'paid', 'shipped', 'delivered', 'cancelled'), NOW(3) - INTERVAL seq SECOND
  FROM seq_1_to_500;
INSERT INTO order_events (order_id, event, at, note)
  SELECT id, 'created', created_at, NULL FROM orders;
COMMIT;
SQL
}

# rnd N prints a random integer in [0, N).
rnd() { echo $(((RANDOM * 32768 + RANDOM) % $1)); }

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

loadgen_run() {
  local defaults=$1
  local tps=${LOADGEN_TPS:-60}
  case $tps in '' | *[!0-9]*) echo "loadgen: LOADGEN_TPS must be a number, got '$tps'" >&2; exit 2 ;; esac
  local client=(mariadb --defaults-file="$defaults" --batch --skip-column-names)

  local ids
  ids=$("${client[@]}" -e "SELECT IFNULL(MAX(id),0) FROM $SCHEMA.users;
    SELECT IFNULL(MAX(id),0) FROM $SCHEMA.products; SELECT IFNULL(MIN(id),1) FROM $SCHEMA.orders;
    SELECT IFNULL(MAX(id),0) FROM $SCHEMA.orders;" | tr '\n' ' ')
  local next_user next_order min_order n_products
  read -r next_user n_products min_order next_order <<<"$ids"
  next_user=$((next_user + 1))
  next_order=$((next_order + 1))
  [ "$n_products" -gt 0 ] || { echo "loadgen: no products in $SCHEMA.products; run 'loadgen.sh seed' first" >&2; exit 2; }

  local stop=0
  trap 'stop=1' TERM INT
  exec 3> >(exec "${client[@]}" "$SCHEMA")
  local client_pid=$!

  local t0; t0=$(now_us)
  local n_tx=0 n_rows=0 due sql i u p q o s
  while [ $stop -eq 0 ]; do
    due=$((($(now_us) - t0) * tps / 1000000))
    while [ $n_tx -lt "$due" ] && [ $stop -eq 0 ]; do
      i=$(rnd 100)
      if [ "$i" -lt 55 ]; then
        # a new order: order row, its event, stock decrement
        o=$next_order; next_order=$((next_order + 1))
        u=$((1 + $(rnd $((next_user - 1)))))
        p=$((1 + $(rnd "$n_products")))
        q=$((1 + $(rnd 5)))
        sql="START TRANSACTION;
INSERT INTO orders (id, user_id, product_id, qty, total, created_at)
  SELECT $o, $u, id, $q, $q * price, NOW(3) FROM products WHERE id = $p;
INSERT INTO order_events VALUES ($o, 'created', NOW(3), 'web 🛒');
UPDATE products SET stock = stock - $q WHERE id = $p;
COMMIT;"
        n_rows=$((n_rows + 3))
      elif [ "$i" -lt 80 ]; then
        # a few orders move on, each with an event
        sql="START TRANSACTION;"
        for _ in 1 2 3; do
          o=$((min_order + $(rnd $((next_order - min_order)))))
          s=${STATUS[$(rnd 5)]}
          sql+="
UPDATE orders SET status = '$s' WHERE id = $o;
INSERT INTO order_events VALUES ($o, '$s', NOW(3), NULL);"
        done
        sql+="
COMMIT;"
        n_rows=$((n_rows + 6))
      elif [ "$i" -lt 88 ]; then
        u=$next_user; next_user=$((next_user + 1))
        sql="INSERT INTO users (id, name, email, birthday, vip, created_at) VALUES
  ($u, '${NAMES[$(rnd ${#NAMES[@]})]} #$u', 'user$u@example.com', NULL, $(rnd 2), NOW(3));"
        n_rows=$((n_rows + 1))
      elif [ "$i" -lt 94 ]; then
        # a price round: a multi-row update with JSON and BLOB changes
        p=$((1 + $(rnd "$n_products")))
        sql="UPDATE products SET price = price * 1.01, rating = RAND() * 5,
  attrs = JSON_SET(attrs, '\$.last_change', NOW(3)), thumbnail = RANDOM_BYTES(40)
  WHERE id BETWEEN $p AND $((p + 4));"
        n_rows=$((n_rows + 5))
      elif [ "$i" -lt 97 ]; then
        # a duplicate 'viewed' event: identical rows in the keyless table
        o=$((min_order + $(rnd $((next_order - min_order)))))
        sql="INSERT INTO order_events VALUES ($o, 'viewed', '2026-01-01 00:00:00.000', 'same'),
  ($o, 'viewed', '2026-01-01 00:00:00.000', 'same');"
        n_rows=$((n_rows + 2))
      else
        # housekeeping: the oldest orders and all their events go away
        sql="START TRANSACTION;
DELETE FROM order_events WHERE order_id BETWEEN $min_order AND $((min_order + 4));
DELETE FROM orders WHERE id BETWEEN $min_order AND $((min_order + 4));
COMMIT;"
        min_order=$((min_order + 5))
        [ $min_order -lt $next_order ] || min_order=$((next_order - 1))
        n_rows=$((n_rows + 10))
      fi
      printf '%s\n' "$sql" >&3
      n_tx=$((n_tx + 1))
    done
    sleep 0.05
  done
  exec 3>&-
  local rc=0
  wait "$client_pid" || rc=$?
  echo "loadgen: stopped after $n_tx transactions (~$n_rows row changes)" >&2
  return $rc
}

case ${1:-} in
  schema) loadgen_schema ;;
  seed) loadgen_seed ;;
  run)
    [ $# -eq 2 ] || { echo "usage: loadgen.sh run DEFAULTS_FILE" >&2; exit 2; }
    loadgen_run "$2"
    ;;
  *)
    echo "usage: loadgen.sh schema | seed | run DEFAULTS_FILE" >&2
    exit 2
    ;;
esac
