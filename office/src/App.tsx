import { useCallback, useEffect, useMemo, useState } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router";
import * as api from "./api";
import { currencyOf, OfficeContext, type BusinessSettings, type Office } from "./context";
import { homeFor, mayOpen, pagesFor } from "./roles";
import { SignIn } from "./pages/SignIn";
import { Dashboard } from "./pages/Dashboard";
import { Sales, SaleDetail } from "./pages/Sales";
import { ReviewQueue } from "./pages/ReviewQueue";
import { Products, ProductEditor } from "./pages/Products";
import { Customers } from "./pages/Customers";
import { Stock } from "./pages/Stock";
import { Shifts, ShiftReport } from "./pages/Shifts";
import { Reports } from "./pages/Reports";
import { Staff } from "./pages/Staff";
import { Tills } from "./pages/Tills";
import { SettingsPage } from "./pages/Settings";

export function App() {
  const [session, setSession] = useState(api.loadSession);
  const navigate = useNavigate();
  useEffect(() => api.onSignedOut(() => setSession(null)), []);

  if (!session) {
    return (
      <Routes>
        <Route
          path="/sign-in"
          element={
            <SignIn
              onSignedIn={(s) => {
                setSession(s);
                navigate(homeFor(s.user.role), { replace: true });
              }}
            />
          }
        />
        <Route path="*" element={<Navigate to="/sign-in" replace />} />
      </Routes>
    );
  }
  return (
    <Shell
      session={session}
      onSignOut={async () => {
        await api.signOut();
        setSession(null);
        navigate("/sign-in", { replace: true });
      }}
    />
  );
}

function Shell({ session, onSignOut }: { session: api.Session; onSignOut: () => void }) {
  const [settings, setSettings] = useState<BusinessSettings | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  const role = session.user.role;

  const reloadSettings = useCallback(() => {
    api.getData<BusinessSettings>("/business-settings").then(setSettings, () => setSettings(null));
  }, []);
  useEffect(reloadSettings, [reloadSettings]);
  useEffect(() => {
    setMenuOpen(false);
    document.getElementById("main")?.focus();
  }, [location.pathname]);

  const office: Office = useMemo(
    () => ({ session, settings, currency: currencyOf(settings), reloadSettings, signOut: onSignOut }),
    [session, settings, reloadSettings, onSignOut],
  );
  const allowed = location.pathname === "/sign-in" || mayOpen(role, location.pathname);

  return (
    <OfficeContext.Provider value={office}>
      <a className="skip" href="#main">
        Skip to the page
      </a>
      <div className="shell">
        <header className="topbar">
          <button
            type="button"
            className="menu-toggle"
            aria-expanded={menuOpen}
            aria-controls="menu"
            onClick={() => setMenuOpen((open) => !open)}
          >
            Menu
          </button>
          <span className="brand">{settings?.company_name ?? "Back office"}</span>
          <span className="who small">
            {session.user.name} · <span data-role={role}>{role}</span>
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </header>
        <nav id="menu" className={menuOpen ? "menu open" : "menu"} aria-label="Pages">
          <ul>
            {pagesFor(role).map((page) => (
              <li key={page.path}>
                <NavLink to={page.path} end={page.path === "/"}>
                  {page.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {allowed ? (
            <Routes>
              <Route path="/" element={<Dashboard />} />
              <Route path="/sales" element={<Sales />} />
              <Route path="/sales/:id" element={<SaleDetail />} />
              <Route path="/review" element={<ReviewQueue />} />
              <Route path="/products" element={<Products />} />
              <Route path="/products/:id" element={<ProductEditor />} />
              <Route path="/customers" element={<Customers />} />
              <Route path="/stock" element={<Stock />} />
              <Route path="/shifts" element={<Shifts />} />
              <Route path="/shifts/:id" element={<ShiftReport />} />
              <Route path="/reports" element={<Reports />} />
              <Route path="/staff" element={<Staff />} />
              <Route path="/tills" element={<Tills />} />
              <Route path="/settings" element={<SettingsPage />} />
              <Route path="/sign-in" element={<Navigate to={homeFor(role)} replace />} />
            </Routes>
          ) : (
            <section>
              <h1>Not available</h1>
              <p>
                This page is not open to a {role}. <NavLink to={homeFor(role)}>Go to your start page</NavLink>.
              </p>
            </section>
          )}
        </main>
      </div>
    </OfficeContext.Provider>
  );
}
