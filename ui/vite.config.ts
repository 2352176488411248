// The admin UI's build: one JS and one CSS file with content hashes (so the server may tell
// browsers to keep them forever), plus a gzipped copy of each text file, which the server
// sends as is: compressing once here costs the binary no compressor.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

const OUT = "dist";

function gzipCopies(): Plugin {
  return {
    name: "gzip-copies",
    apply: "build",
    closeBundle() {
      for (const file of walk(OUT)) {
        if (!/\.(js|css|html|svg)$/.test(file)) continue;
        // zlib writes no time stamp (mtime 0), so equal input gives equal bytes.
        writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
      }
    },
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export default defineConfig({
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: OUT,
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  plugins: [gzipCopies()],
});
