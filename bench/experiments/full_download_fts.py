# Usage: python3 bench/experiments/full_download_fts.py PAGES_DIR [schema|cache|all]
# (PAGES_DIR written by pos-datagen). Figures: docs/BENCHMARKS.md.
# Where the full download's product pages spend their time: the same 100k product rows
# (from pos-datagen's pages), pages of 500 in one WAL/FULL transaction each, with the
# engine's products schema and four variants of its FTS5 index.
import glob, json, os, sqlite3, sys, time

pages_dir = sys.argv[1]
products = []
for path in sorted(glob.glob(os.path.join(pages_dir, "full-*.json"))):
    with open(path) as f:
        page = json.load(f)
    products.extend(page["data"].get("products") or [])
rows = [(p["id"], p["productName"], p["productCode"], p["barcode"], p["category_id"], p["vat_id"],
         str(p["productSalePrice"]), p["version"], json.dumps(p)) for p in products]
print(len(rows), "products")

TABLE = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, code TEXT, barcode TEXT,
  category_id INTEGER, vat_id INTEGER, sale_price TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX products_code ON products (code);
CREATE INDEX products_barcode ON products (barcode);
CREATE INDEX products_category ON products (category_id, name);
CREATE INDEX products_name ON products (name, id);
"""
def fts(prefix):
    opt = f", prefix = '{prefix}'" if prefix else ""
    return f"""
CREATE VIRTUAL TABLE products_fts USING fts5 (name, content = 'products', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'{opt});
"""
TRIGGER = """
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
  INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name); END;
"""
UPSERT = """INSERT INTO products (id, name, code, barcode, category_id, vat_id, sale_price, version, data)
 VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, data = excluded.data"""

def run(label, schema, rebuild=False, cache_kib=None):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"fts-exp-{label.split(',')[0].replace(' ', '-')}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
    if cache_kib:
        c.execute(f"PRAGMA cache_size=-{cache_kib}")
    c.executescript(schema)
    t = time.perf_counter()
    for i in range(0, len(rows), 500):
        c.execute("BEGIN IMMEDIATE")
        c.executemany(UPSERT, rows[i:i + 500])
        c.execute("COMMIT")
    if rebuild:
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO products_fts (products_fts) VALUES ('rebuild')")
        c.execute("COMMIT")
    took = time.perf_counter() - t
    print(f"{label:45s} {took:6.2f} s  ({took * 1000 / (len(rows) / 500):6.1f} ms a page)")
    c.close()

which = sys.argv[2] if len(sys.argv) > 2 else "all"
if which in ("all", "schema"):
    run("no FTS at all", TABLE)
    run("FTS prefix '1 2 3', trigger per row (engine)", TABLE + fts("1 2 3") + TRIGGER)
    run("FTS prefix '2 3', trigger per row", TABLE + fts("2 3") + TRIGGER)
    run("FTS no prefix index, trigger per row", TABLE + fts(None) + TRIGGER)
    run("FTS prefix '1 2 3', one rebuild at the end", TABLE + fts("1 2 3"), rebuild=True)
if which in ("all", "cache"):
    run("engine schema, cache_size 64 MiB", TABLE + fts("1 2 3") + TRIGGER, cache_kib=65536)
    run("engine schema, 64 MiB cache, rebuild at end", TABLE + fts("1 2 3"), rebuild=True, cache_kib=65536)
    run("no FTS, cache_size 64 MiB", TABLE, cache_kib=65536)
