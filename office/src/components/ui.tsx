// Small building blocks every page uses: messages, labelled fields, money and the pager.
import { useId, type ReactNode } from "react";
import { formatMoney, formatQuantity, type Amount } from "@till/money";
import type { ApiError, Pagination } from "../api";
import { useOffice } from "../context";

export function ErrorMessage({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p className="message error" role="alert">
      {error.detail}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="message ok" role="status">
      {children}
    </p>
  );
}

export function Money({ amount }: { amount: Amount | null | undefined }) {
  const { currency } = useOffice();
  if (amount === null || amount === undefined) return <span className="muted">—</span>;
  return <span className="num">{formatMoney(amount, currency)}</span>;
}

export function Quantity({ amount }: { amount: Amount | null | undefined }) {
  if (amount === null || amount === undefined) return <span className="muted">—</span>;
  return <span className="num">{formatQuantity(amount)}</span>;
}

interface FieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  name?: string;
  required?: boolean;
  autoComplete?: string;
  inputMode?: "numeric" | "decimal" | "email" | "text" | "search";
  hint?: string;
  placeholder?: string;
}

export function Field({ label, value, onChange, type = "text", hint, ...rest }: FieldProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        value={value}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onChange(e.target.value)}
        {...rest}
      />
      {hint && (
        <span id={`${id}-hint`} className="small muted">
          {hint}
        </span>
      )}
    </div>
  );
}

interface SelectProps<T extends string> {
  label: string;
  value: T;
  options: { value: T; label: string }[];
  onChange: (value: T) => void;
  name?: string;
}

export function Select<T extends string>({ label, value, options, onChange, name }: SelectProps<T>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={(e) => onChange(e.target.value as T)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

export function Pager({ pagination, onPage }: { pagination: Pagination | undefined; onPage: (page: number) => void }) {
  if (!pagination) return null;
  const { current_page: page, last_page: last, total } = pagination;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span aria-live="polite">
        Page {page} of {Math.max(last, 1)} · {total} in all
      </span>
      <button type="button" disabled={page >= last} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

export function formatWhen(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "never";
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleString();
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}
