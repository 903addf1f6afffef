// Builds the card's one ES module bundle with esbuild (pinned in package.json).
//
//   node build.mjs                  -> ../custom_components/vigil/frontend/vigil-timeline-card.js
//   node build.mjs --outfile <path> -> the same bundle elsewhere (the freshness test compares them)
//   node build.mjs --tests <dir>    -> the unit tests (test/*.test.ts) as ES modules for `node --test`
//
// The output depends only on the sources, the lock file's packages and these options: no
// dates, no absolute paths (minified, no source map), licence comments gathered at the end.
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};

const common = {
  absWorkingDir: here,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  logLevel: "warning",
  charset: "utf8",
};

const testsDir = option("--tests");
if (testsDir !== undefined) {
  const tests = readdirSync(join(here, "test")).filter((name) => name.endsWith(".test.ts"));
  await build({
    ...common,
    platform: "node",
    entryPoints: tests.map((name) => join("test", name)),
    outdir: resolve(testsDir),
    outExtension: { ".js": ".mjs" },
  });
} else {
  const outfile = resolve(option("--outfile") ?? join(here, "..", "custom_components", "vigil", "frontend", "vigil-timeline-card.js"));
  await build({
    ...common,
    entryPoints: ["src/index.ts"],
    outfile,
    minify: true,
    legalComments: "eof",
    banner: {
      js: "// Vigil timeline card (https://github.com/vigil-nvr/vigil), built from frontend/ by build.mjs: do not edit.\n// Bundles Lit (BSD-3-Clause), hls.js (Apache-2.0) and Material Design Icons (Apache-2.0).",
    },
    sourcemap: false,
  });
}
