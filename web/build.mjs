// Builds the demo page into crates/ferrosoup-server/assets/ (embedded by the server with include_str!):
//   src/app.js (+ mediasoup-client) -> assets/app.js (one minified IIFE for browsers)
//   index.html                      -> assets/index.html
// FERROSOUP_ASSETS_OUT=<dir> writes elsewhere (scripts/test.sh uses it to check the committed assets are current).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = process.env.FERROSOUP_ASSETS_OUT || join(here, '..', 'crates', 'ferrosoup-server', 'assets');

await mkdir(outDir, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'app.js')],
  outfile: join(outDir, 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome111', 'firefox120', 'safari16'],
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'eof',
  banner: {
    js: '/* ferrosoup demo page. Bundles mediasoup-client (ISC) and its dependencies (ISC/MIT); versions in web/package-lock.json. */',
  },
  logLevel: process.env.FERROSOUP_ASSETS_OUT ? 'warning' : 'info',
});
await copyFile(join(here, 'index.html'), join(outDir, 'index.html'));
if (!process.env.FERROSOUP_ASSETS_OUT) console.log(`copied index.html -> ${join(outDir, 'index.html')}`);
