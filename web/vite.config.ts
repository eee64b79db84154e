import { defineConfig } from "vite";

// The built files go beside the gwang-server program (build/web), where the controller finds them.
export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.GWANG_WEB_OUT ?? "../build/web",
    emptyOutDir: true,
    chunkSizeWarningLimit: 400,
  },
});
