// Bundles src/ into dist/assets with content-hashed names and writes dist/index.html.
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
const result = await build({
  entryPoints: ["src/main.js", "src/style.css"],
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2020"],
  outdir: "dist/assets",
  entryNames: "[name]-[hash]",
  metafile: true,
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith(".js"));
const css = outputs.find((f) => f.endsWith(".css"));
cpSync("public", "dist", { recursive: true });
const html = readFileSync("src/index.html", "utf8")
  .replace("%SCRIPT%", `/assets/${js}`)
  .replace("%STYLE%", `/assets/${css}`);
writeFileSync("dist/index.html", html);
console.log(`built dist/index.html with ${js} and ${css}`);
