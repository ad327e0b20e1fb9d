// A till PIN as the back office asks for it. The server has the last word (its message is
// shown when it refuses); this catches typing mistakes before a round trip.
import type { Role } from "./roles";

/** The fewest digits a PIN of this role needs: a manager's or owner's PIN authorises what a
 * cashier cannot do alone, so it is longer. */
export function shortestPin(role: Role): number {
  return role === "cashier" ? 4 : 6;
}

/** What is wrong with `pin` for a person of `role`, or null. */
export function pinProblem(pin: string, role: Role): string | null {
  if (!/^\d+$/.test(pin)) return "A PIN is digits only.";
  const least = shortestPin(role);
  if (pin.length < least) return `A ${role}'s PIN needs at least ${least} digits.`;
  return null;
}
