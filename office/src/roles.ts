// Who sees which page. The server decides what each role may do (it answers 403 otherwise);
// this only keeps a person from being shown pages they cannot use.

export type Role = "owner" | "manager" | "cashier";

const RANK: Record<Role, number> = { cashier: 0, manager: 1, owner: 2 };

export interface Page {
  path: string;
  label: string;
  /** The least role that may open the page. */
  least: Role;
}

/** The pages in the order of the menu, most used first. */
export const PAGES: Page[] = [
  { path: "/", label: "Dashboard", least: "manager" },
  { path: "/sales", label: "Sales", least: "cashier" },
  { path: "/review", label: "Review queue", least: "manager" },
  { path: "/products", label: "Products", least: "cashier" },
  { path: "/customers", label: "Customers", least: "cashier" },
  { path: "/stock", label: "Stock", least: "manager" },
  { path: "/shifts", label: "Shifts", least: "manager" },
  { path: "/reports", label: "Reports", least: "manager" },
  { path: "/staff", label: "Staff", least: "manager" },
  { path: "/tills", label: "Tills", least: "manager" },
  { path: "/settings", label: "Settings", least: "owner" },
];

export function isRole(value: unknown): value is Role {
  return value === "owner" || value === "manager" || value === "cashier";
}

export function atLeast(role: Role, least: Role): boolean {
  return RANK[role] >= RANK[least];
}

export function pagesFor(role: Role): Page[] {
  return PAGES.filter((p) => atLeast(role, p.least));
}

/** The page a path belongs to (`/sales/12` → Sales). */
export function pageOf(path: string): Page | undefined {
  const first = "/" + (path.split("/")[1] ?? "");
  return PAGES.find((p) => p.path === first);
}

export function mayOpen(role: Role, path: string): boolean {
  const page = pageOf(path);
  return page !== undefined && atLeast(role, page.least);
}

/** Where a person lands after signing in. */
export function homeFor(role: Role): string {
  return pagesFor(role)[0].path;
}

/** Roles a person may give to staff: an owner any, a manager only cashiers. */
export function assignableRoles(role: Role): Role[] {
  if (role === "owner") return ["owner", "manager", "cashier"];
  if (role === "manager") return ["cashier"];
  return [];
}
