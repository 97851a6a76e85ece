// Bundles src/main.js (+ mediasoup-client) into dist/main.js and copies index.html: dist/ is the app's frontendDist.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.js')],
  outfile: join(out, 'main.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome111', 'safari16'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'info',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
