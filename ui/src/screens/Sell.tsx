import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { api, EngineError, type CategoryView, type CompletedSale, type ProductView } from "../api";
import { useApp } from "../context";
import { discountText } from "../format";
import type { Action } from "../keymap";
import { formatMoney, formatQuantity, isZero, stepQuantity } from "../money";
import { CustomerDialog } from "./sell/CustomerDialog";
import { DiscountDialog } from "./sell/DiscountDialog";
import { HoldDialog } from "./sell/HoldDialog";
import { PaymentDialog } from "./sell/PaymentDialog";
import { QuantityDialog } from "./sell/QuantityDialog";
import { ReceiptDialog } from "./sell/ReceiptDialog";

const GRID_LIMIT = 60;

type Dialog =
  | { kind: "pay" }
  | { kind: "customer" }
  | { kind: "cartDiscount" }
  | { kind: "lineDiscount"; lineNo: number }
  | { kind: "quantity"; lineNo: number }
  | { kind: "hold" }
  | { kind: "receipt"; sale: CompletedSale }
  | null;

export function Sell() {
  const { cart, setCart, currency, notify, setActionHandler } = useApp();
  const [categories, setCategories] = useState<CategoryView[]>([]);
  const [categoryId, setCategoryId] = useState<number | null>(null);
  const [search, setSearch] = useState("");
  const [products, setProducts] = useState<ProductView[]>([]);
  const [selected, setSelected] = useState(0);
  const [dialog, setDialog] = useState<Dialog>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const money = (a: Parameters<typeof formatMoney>[0]) => formatMoney(a, currency);
  const lines = cart?.lines ?? [];
  const selectedLine = lines[Math.min(selected, lines.length - 1)];

  useEffect(() => {
    api.categories().then((cs) => {
      setCategories(cs);
      setCategoryId((current) => current ?? cs[0]?.id ?? null);
    }, notify);
    searchRef.current?.focus();
  }, [notify]);

  useEffect(() => {
    const text = search.trim();
    if (text === "" && categoryId === null) return;
    const timer = setTimeout(
      () => {
        const request = text ? api.searchProducts(text, GRID_LIMIT) : api.productsInCategory(categoryId!, GRID_LIMIT);
        request.then(setProducts, notify);
      },
      text ? 120 : 0,
    );
    return () => clearTimeout(timer);
  }, [search, categoryId, notify]);

  const run = useCallback(
    async (change: Promise<typeof cart>) => {
      try {
        const next = await change;
        if (next) setCart(next);
      } catch (e) {
        notify(e);
      }
    },
    [setCart, notify],
  );

  const changeQuantity = useCallback(
    (lineNo: number, quantity: string) => run(api.cartSetQuantity(lineNo, quantity)),
    [run],
  );

  const onAction = useCallback(
    (action: Action): boolean => {
      if (dialog) {
        if (action.kind === "cancel") {
          if (dialog.kind === "receipt") searchRef.current?.focus();
          setDialog(null);
          return true;
        }
        return dialog.kind !== "receipt" || action.kind !== "pay";
      }
      switch (action.kind) {
        case "focusSearch":
          searchRef.current?.focus();
          searchRef.current?.select();
          return true;
        case "pay":
          if (lines.length === 0) notify("The cart is empty.", "info");
          else setDialog({ kind: "pay" });
          return true;
        case "pickCustomer":
          setDialog({ kind: "customer" });
          return true;
        case "discount":
          if (lines.length > 0) setDialog({ kind: "cartDiscount" });
          return true;
        case "hold":
          if (lines.length > 0) setDialog({ kind: "hold" });
          return true;
        case "cancel":
          if (search) setSearch("");
          searchRef.current?.focus();
          return true;
        case "voidLine":
          if (selectedLine) void run(api.cartVoidLine(selectedLine.line_no));
          return true;
        case "quantityUp":
        case "quantityDown":
          if (selectedLine) {
            void run(api.cartSetQuantity(selectedLine.line_no, stepQuantity(selectedLine.quantity, action.kind === "quantityUp" ? 1 : -1)));
          }
          return true;
        case "selectLine":
          setSelected((s) => Math.max(0, Math.min(lines.length - 1, s + action.delta)));
          return true;
        default:
          return false;
      }
    },
    [dialog, lines.length, notify, run, search, selectedLine],
  );

  useEffect(() => {
    setActionHandler(onAction);
    return () => setActionHandler(null);
  }, [onAction, setActionHandler]);

  async function onSearchKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      document.querySelector<HTMLButtonElement>(".product-grid button")?.focus();
      return;
    }
    if (e.key !== "Enter") return;
    e.preventDefault();
    const text = search.trim();
    if (!text) return;
    try {
      setCart(await api.cartAddCode(text, "1"));
      setSearch("");
    } catch (err) {
      if (err instanceof EngineError && err.code === "not_found") {
        const found = await api.searchProducts(text, GRID_LIMIT).catch(() => products);
        if (found.length > 0) {
          await run(api.cartAdd(found[0].id, "1"));
          setSearch("");
        } else notify(`Nothing matches "${text}".`);
      } else notify(err);
    }
  }

  return (
    <div className="sell">
      <section className="catalog">
        <input
          ref={searchRef}
          className="search"
          placeholder="Search name, code or scan a barcode (F2)"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          onKeyDown={onSearchKey}
          data-testid="search"
          aria-label="Search products"
        />
        {!search && (
          <div className="category-tiles">
            {categories.map((c) => (
              <button key={c.id} className={c.id === categoryId ? "tile active" : "tile"} onClick={() => setCategoryId(c.id)}>
                {c.name}
              </button>
            ))}
          </div>
        )}
        <div className="product-grid" data-testid="product-grid">
          {products.map((p) => (
            <button key={p.id} className="product" onClick={() => run(api.cartAdd(p.id, "1"))} data-testid={`product-${p.id}`}>
              <span className="name">{p.productName}</span>
              <span className="price">{money(p.productSalePrice)}</span>
              <span className="muted small">
                {p.productCode ?? ""} · stock {formatQuantity(p.stock)}
              </span>
            </button>
          ))}
          {products.length === 0 && <p className="muted">No products here. Search or pick a category.</p>}
        </div>
      </section>

      <section className="cart" data-testid="cart">
        <div className="cart-head">
          <button className="customer" onClick={() => setDialog({ kind: "customer" })} data-testid="cart-customer">
            {cart?.customer ? `Customer: ${cart.customer.name}` : "Walk-in customer"} <kbd>F8</kbd>
          </button>
        </div>
        <ol className="lines">
          {lines.map((l, i) => (
            <li key={l.line_no} className={l === selectedLine ? "line selected" : "line"} onClick={() => setSelected(i)} data-testid="cart-line">
              <div className="line-main">
                <span className="name">{l.name}</span>
                <span className="num total">{money(l.total)}</span>
              </div>
              <div className="line-controls">
                <button className="qty" onClick={() => changeQuantity(l.line_no, stepQuantity(l.quantity, -1))} aria-label="One less">−</button>
                <button className="qty-value" onClick={() => setDialog({ kind: "quantity", lineNo: l.line_no })} data-testid="line-qty">
                  {formatQuantity(l.quantity)}
                </button>
                <button className="qty" onClick={() => changeQuantity(l.line_no, stepQuantity(l.quantity, 1))} aria-label="One more">+</button>
                <span className="muted">× {money(l.unit_price)}</span>
                <button className="small-btn" onClick={() => setDialog({ kind: "lineDiscount", lineNo: l.line_no })}>
                  {isZero(l.line_discount) ? "Discount" : `−${money(l.line_discount)} (${discountText(l.discount)})`}
                </button>
                <button className="small-btn danger" onClick={() => run(api.cartVoidLine(l.line_no))} aria-label="Void line">Void</button>
              </div>
            </li>
          ))}
          {lines.length === 0 && <li className="empty muted">Scan or pick products to start a sale.</li>}
        </ol>
        {cart && (
          <table className="totals">
            <tbody>
              <tr><td>Subtotal</td><td className="num">{money(cart.subtotal)}</td></tr>
              {!isZero(cart.line_discount) && <tr><td>Line discounts</td><td className="num">−{money(cart.line_discount)}</td></tr>}
              <tr>
                <td>
                  <button className="link" onClick={() => lines.length && setDialog({ kind: "cartDiscount" })}>
                    Discount {discountText(cart.discount)} <kbd>F3</kbd>
                  </button>
                </td>
                <td className="num">{isZero(cart.cart_discount) ? "—" : `−${money(cart.cart_discount)}`}</td>
              </tr>
              <tr><td>VAT{cart.vat_inclusive ? " (included)" : ""}</td><td className="num" data-testid="cart-vat">{money(cart.vat_amount)}</td></tr>
              <tr className="grand"><td>Total</td><td className="num" data-testid="cart-total">{money(cart.total)}</td></tr>
            </tbody>
          </table>
        )}
        <div className="cart-actions">
          <button className="big" onClick={() => lines.length && setDialog({ kind: "hold" })} disabled={!lines.length}>Hold <kbd>F4</kbd></button>
          <button className="big danger" onClick={() => lines.length && window.confirm("Cancel this sale?") && run(api.cartClear())} disabled={!lines.length}>Cancel sale</button>
          <button className="big primary" onClick={() => setDialog({ kind: "pay" })} disabled={!lines.length} data-testid="pay">Pay <kbd>F12</kbd></button>
        </div>
      </section>

      {dialog?.kind === "pay" && cart && (
        <PaymentDialog cart={cart} onClose={() => setDialog(null)} onCompleted={(sale) => { setDialog({ kind: "receipt", sale }); void api.cart().then(setCart); }} />
      )}
      {dialog?.kind === "receipt" && <ReceiptDialog sale={dialog.sale} onClose={() => { setDialog(null); searchRef.current?.focus(); }} />}
      {dialog?.kind === "customer" && <CustomerDialog onClose={() => setDialog(null)} />}
      {dialog?.kind === "cartDiscount" && cart && (
        <DiscountDialog title="Discount on the sale" current={cart.discount} onClose={() => setDialog(null)} apply={(d) => api.cartSetDiscount(d)} />
      )}
      {dialog?.kind === "lineDiscount" && (
        <DiscountDialog
          title={`Discount on ${lines.find((l) => l.line_no === dialog.lineNo)?.name ?? "line"}`}
          current={lines.find((l) => l.line_no === dialog.lineNo)?.discount ?? { kind: "none" }}
          onClose={() => setDialog(null)}
          apply={(d) => api.cartSetLineDiscount(dialog.lineNo, d)}
        />
      )}
      {dialog?.kind === "quantity" && (
        <QuantityDialog
          current={lines.find((l) => l.line_no === dialog.lineNo)?.quantity ?? "1"}
          onClose={() => setDialog(null)}
          apply={(q) => api.cartSetQuantity(dialog.lineNo, q)}
        />
      )}
      {dialog?.kind === "hold" && <HoldDialog onClose={() => setDialog(null)} />}
    </div>
  );
}
