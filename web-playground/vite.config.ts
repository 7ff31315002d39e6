import { defineConfig } from "vite";

// Relative asset paths: dist/ works from any directory of any static server,
// including the daemon's /ui/.
export default defineConfig({
  base: "./",
  build: { target: "es2022", chunkSizeWarningLimit: 1500, reportCompressedSize: false },
  worker: { format: "es" },
});
