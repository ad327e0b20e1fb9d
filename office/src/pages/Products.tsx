import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { parseAmountInput } from "@till/money";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Money, Notice, Pager, Quantity, Select } from "../components/ui";
import { differences, versionConflict } from "../conflict";
import { useOffice } from "../context";
import type { Amount } from "../figures";
import { useAction, useLoad } from "../hooks";
import { atLeast } from "../roles";

export interface Product {
  id: number;
  productName: string;
  productCode: string | null;
  barcode: string | null;
  category_id: number | null;
  brand_id: number | null;
  unit_id: number | null;
  vat_id: number | null;
  productPurchasePrice: Amount;
  productSalePrice: Amount;
  productStock: Amount;
  alert_qty: Amount;
  version: number;
}

interface Named {
  id: number;
  name: string;
}

export function Products() {
  const { session } = useOffice();
  const [params] = useSearchParams();
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState("");
  const [barcode, setBarcode] = useState<string | null>(null);
  const list = useLoad(() => api.get<api.Paged<Product>>("/products", { page, per_page: 50 }), [page]);
  const found = useLoad(
    () => (barcode ? api.getData<Product>(`/products/by-barcode/${encodeURIComponent(barcode)}`).then((p) => [p]) : Promise.resolve(null)),
    [barcode],
  );
  const lowOnly = params.get("low") === "1";
  const manager = atLeast(session.user.role, "manager");

  const needle = search.trim().toLowerCase();
  const onPage = (list.data?.data ?? []).filter(
    (p) =>
      (!needle ||
        p.productName.toLowerCase().includes(needle) ||
        (p.productCode ?? "").toLowerCase().includes(needle) ||
        (p.barcode ?? "") === needle) &&
      (!lowOnly || (Number(p.alert_qty) > 0 && Number(p.productStock) <= Number(p.alert_qty))),
  );
  const rows = barcode && found.data ? found.data : onPage;

  return (
    <section aria-labelledby="products-title">
      <h1 id="products-title">Products</h1>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setBarcode(/^\d{6,}$/.test(search.trim()) ? search.trim() : null);
        }}
      >
        <Field label="Search by name, code or barcode" type="search" name="search" value={search} onChange={(v) => { setSearch(v); setBarcode(null); }} />
        <button type="submit">Search</button>
        {manager && (
          <Link className="button primary" to="/products/new">
            New product
          </Link>
        )}
      </form>
      {lowOnly && <p className="small">Showing products at or below their alert quantity on this page.</p>}
      <p className="small muted">Names and codes are matched on the page shown; a barcode is looked up in the whole catalog.</p>
      <ErrorMessage error={list.error ?? found.error} />
      {list.loading && !list.data && <Loading what="products" />}
      <DataTable
        caption="Products"
        rows={rows}
        rowKey={(p) => p.id}
        columns={[
          { header: "Name", cell: ({ row }) => <Link to={`/products/${row.original.id}`}>{row.original.productName}</Link> },
          { header: "Code", cell: ({ row }) => row.original.productCode ?? "—" },
          { header: "Barcode", cell: ({ row }) => row.original.barcode ?? "—" },
          { header: "Price", cell: ({ row }) => <Money amount={row.original.productSalePrice} /> },
          { header: "Stock", cell: ({ row }) => <Quantity amount={row.original.productStock} /> },
        ]}
        empty="No product matches."
      />
      {!barcode && <Pager pagination={list.data?.pagination} onPage={setPage} />}
    </section>
  );
}

const EMPTY_FORM = {
  productName: "",
  productCode: "",
  barcode: "",
  category_id: "",
  unit_id: "",
  vat_id: "",
  productPurchasePrice: "0",
  productSalePrice: "",
  alert_qty: "0",
};
type ProductForm = typeof EMPTY_FORM;

function formOf(product: Product): ProductForm {
  const text = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  return {
    productName: product.productName,
    productCode: text(product.productCode),
    barcode: text(product.barcode),
    category_id: text(product.category_id),
    unit_id: text(product.unit_id),
    vat_id: text(product.vat_id),
    productPurchasePrice: text(product.productPurchasePrice),
    productSalePrice: text(product.productSalePrice),
    alert_qty: text(product.alert_qty),
  };
}

/** The body the server takes: empty optional fields as null, numbers as exact decimal text. */
function bodyOf(form: ProductForm): Record<string, unknown> {
  const id = (v: string) => (v ? Number(v) : null);
  const decimal = (v: string) => parseAmountInput(v, 4) ?? v;
  return {
    productName: form.productName.trim(),
    productCode: form.productCode.trim() || null,
    barcode: form.barcode.trim() || null,
    category_id: id(form.category_id),
    unit_id: id(form.unit_id),
    vat_id: id(form.vat_id),
    productPurchasePrice: decimal(form.productPurchasePrice),
    productSalePrice: decimal(form.productSalePrice),
    alert_qty: decimal(form.alert_qty),
  };
}

export function ProductEditor() {
  const { id } = useParams();
  const isNew = id === "new";
  const navigate = useNavigate();
  const { session } = useOffice();
  const manager = atLeast(session.user.role, "manager");
  const product = useLoad(() => (isNew ? Promise.resolve(null) : api.getData<Product>(`/products/${id}`)), [id]);
  const lists = useLoad(async () => {
    const [categories, units, vats, warehouses] = await Promise.all(
      ["/categories", "/units", "/vats", "/warehouses"].map((path) => api.getData<Named[]>(path, { per_page: 1000 })),
    );
    return { categories, units, vats, warehouses };
  }, []);
  const [form, setForm] = useState<ProductForm | null>(null);
  const [openingStock, setOpeningStock] = useState("0");
  const [notice, setNotice] = useState("");
  const save = useAction();
  const archive = useAction();

  const current = form ?? (product.data ? formOf(product.data) : isNew ? EMPTY_FORM : null);
  if (product.error) return <ErrorMessage error={product.error} />;
  if (!current) return <Loading what="the product" />;
  const set = (field: keyof ProductForm) => (value: string) => setForm({ ...current, [field]: value });
  const conflict = versionConflict(save.error);
  const version = product.data?.version;

  async function submit(event: FormEvent, force = false) {
    event.preventDefault();
    const body = bodyOf(current!);
    if (isNew) {
      const created = await save.run(async () => {
        const made = await api.request<{ data: Product }>("POST", "/products", body);
        const stock = parseAmountInput(openingStock, 3);
        if (stock !== null) {
          await api.request("POST", "/stocks", {
            product_id: made.data.id,
            warehouse_id: lists.data?.warehouses[0]?.id ?? null,
            productStock: stock,
            productPurchasePrice: body.productPurchasePrice,
            productSalePrice: body.productSalePrice,
          });
        }
        return made.data;
      });
      if (created) navigate(`/products/${created.id}`, { replace: true, state: { created: true } });
      return;
    }
    const saved = await save.run(() =>
      api.request<{ data: Product }>("PUT", `/products/${id}`, body, force ? { force: true } : { version }),
    );
    if (saved) {
      setForm(null);
      setNotice("Saved. Tills get the change at their next sync.");
      product.reload();
    }
  }

  async function remove() {
    const done = await archive.run(() => api.request("DELETE", `/products/${id}`, undefined, { version }));
    if (done !== undefined) navigate("/products", { replace: true });
  }

  const options = (rows: Named[] | undefined) => [{ value: "", label: "None" }, ...(rows ?? []).map((r) => ({ value: String(r.id), label: r.name }))];
  return (
    <section aria-labelledby="product-title">
      <p>
        <Link to="/products">‹ Products</Link>
      </p>
      <h1 id="product-title">{isNew ? "New product" : current.productName || "Product"}</h1>
      {notice && <Notice>{notice}</Notice>}
      {!isNew && product.data && (
        <p className="small muted">
          In stock: <Quantity amount={product.data.productStock} /> · version {product.data.version}
        </p>
      )}
      <form className="panel" onSubmit={(e) => submit(e)} aria-label="Product">
        <fieldset disabled={!manager}>
          <div className="grid">
            <Field label="Name" name="productName" value={current.productName} onChange={set("productName")} required />
            <Field label="Code" name="productCode" value={current.productCode} onChange={set("productCode")} />
            <Field label="Barcode" name="barcode" inputMode="numeric" value={current.barcode} onChange={set("barcode")} />
            <Select label="Category" value={current.category_id} onChange={set("category_id")} options={options(lists.data?.categories)} />
            <Select label="Unit" value={current.unit_id} onChange={set("unit_id")} options={options(lists.data?.units)} />
            <Select label="VAT" value={current.vat_id} onChange={set("vat_id")} options={options(lists.data?.vats)} />
            <Field label="Sale price" name="productSalePrice" inputMode="decimal" value={current.productSalePrice} onChange={set("productSalePrice")} required />
            <Field label="Purchase price" name="productPurchasePrice" inputMode="decimal" value={current.productPurchasePrice} onChange={set("productPurchasePrice")} />
            <Field label="Alert at quantity" name="alert_qty" inputMode="decimal" value={current.alert_qty} onChange={set("alert_qty")} />
            {isNew && <Field label="Opening stock" name="openingStock" inputMode="decimal" value={openingStock} onChange={setOpeningStock} />}
          </div>
          {conflict ? (
            <div className="message warning" role="alert">
              <p>
                Someone saved this product after you opened it (it is now at version {conflict.serverVersion}). What they saved differs here:
              </p>
              <ul>
                {differences(current, conflict.serverData).map((d) => (
                  <li key={d.field}>
                    {d.field}: theirs “{d.theirs}”, yours “{d.mine}”
                  </li>
                ))}
              </ul>
              <div className="toolbar">
                <button type="button" onClick={(e) => submit(e, true)}>
                  Keep mine (overwrite)
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setForm(null);
                    save.clear();
                    product.reload();
                  }}
                >
                  Take theirs
                </button>
              </div>
            </div>
          ) : (
            <ErrorMessage error={save.error} />
          )}
          {manager && (
            <button type="submit" className="primary" disabled={save.busy}>
              {isNew ? "Create product" : "Save"}
            </button>
          )}
        </fieldset>
      </form>
      {!isNew && manager && (
        <div className="danger-zone">
          <button type="button" className="danger" onClick={remove} disabled={archive.busy}>
            Archive this product
          </button>
          <p className="small muted">Archived products leave the tills at their next sync; sales made with them stay.</p>
          <ErrorMessage error={archive.error} />
        </div>
      )}
    </section>
  );
}
