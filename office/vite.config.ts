import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// What the till and the back office share (money display, design tokens) lives once, in the
// till's ui/src, and is reached here through the `@till` alias.
const till = fileURLToPath(new URL("../ui/src", import.meta.url));

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@till": till } },
  clearScreen: false,
  // `npm run dev` talks to a pos-server on the usual port.
  server: { port: 5174, proxy: { "/api": "http://127.0.0.1:8700" } },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
