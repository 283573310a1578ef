// `vite build`: the example app (example/ → dist/example, relative paths: serve it from anywhere).
// `vite build --mode lib`: the component as an ES module (dist/lib), React and the client external.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig(({ mode }) =>
  mode === "lib"
    ? {
        plugins: [react()],
        build: {
          outDir: here("./dist/lib"),
          emptyOutDir: true,
          lib: { entry: here("./src/index.js"), formats: ["es"], fileName: () => "index.js" },
          rollupOptions: {
            external: ["react", "react-dom", "react/jsx-runtime", "@interview-integrity/client"],
          },
        },
      }
    : {
        plugins: [react()],
        root: here("./example"),
        base: "./",
        build: { outDir: here("./dist/example"), emptyOutDir: true },
      }
);
