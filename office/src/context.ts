import { createContext, useContext } from "react";
import type { CurrencyFormat } from "@till/money";
import type { Session } from "./api";

export interface BusinessSettings {
  company_name: string;
  currency: { code: string; symbol: string; minor_units: number };
  currency_position: "before" | "after";
  vat_enabled: boolean;
  vat_inclusive: boolean;
  invoice_prefix: string;
  timezone: string;
  shifts_required: boolean;
  max_cashier_discount_percent: number | string | null;
  version: number;
}

export interface Office {
  session: Session;
  settings: BusinessSettings | null;
  currency: CurrencyFormat;
  reloadSettings: () => void;
  signOut: () => void;
}

export const OfficeContext = createContext<Office | null>(null);

export function useOffice(): Office {
  const office = useContext(OfficeContext);
  if (!office) throw new Error("useOffice outside the signed-in shell");
  return office;
}

/** How the business shows money; plain two decimals until its settings have loaded. */
export function currencyOf(settings: BusinessSettings | null): CurrencyFormat {
  if (!settings) return { code: "", symbol: "", minorUnits: 2, position: "before" };
  return {
    code: settings.currency.code,
    symbol: settings.currency.symbol,
    minorUnits: settings.currency.minor_units,
    position: settings.currency_position,
  };
}
