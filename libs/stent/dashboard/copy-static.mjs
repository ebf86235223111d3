// The dashboard's static files (HTML template, stylesheet) next to the JavaScript tsc emitted, so the
// package ships everything it serves: no CDN, no bundler at run time. Run by the root build after tsc -b.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, 'static');
const to = join(here, '..', 'dist', 'dashboard');
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, name));
