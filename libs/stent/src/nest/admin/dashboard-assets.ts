import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../../core/index.js';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface DashboardAsset {
  body: Buffer;
  type: string;
}

/** The dashboard as built with the library: the page template and the files it loads. */
export interface DashboardFiles {
  template: string;
  /** A digest of the files: part of their addresses, so a browser may keep them until the build changes. */
  version: string;
  /** By path under the assets route, e.g. 'main.js', 'pages/overview.js', 'dashboard.css'. */
  assets: Map<string, DashboardAsset>;
}

/** Where the build put the dashboard: dist/dashboard next to dist/nest. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

function walk(dir: string, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, found);
    else found.push(path);
  }
  return found;
}

let loaded: DashboardFiles | undefined;

/**
 * Read once, kept in memory (a few dozen kilobytes): only these files can be served, so no request path
 * ever reaches the file system.
 */
export function dashboardFiles(dir = DASHBOARD_DIR): DashboardFiles {
  if (loaded && dir === DASHBOARD_DIR) return loaded;
  let template: string;
  try {
    template = readFileSync(join(dir, 'index.html'), 'utf8');
  } catch {
    throw new ConfigurationError(
      `StentAdminModule: the dashboard's files are missing from ${dir} (the library was built without them; its build runs tsc -b then copies libs/stent/dashboard/static). Pass dashboard: false to mount the API alone.`,
    );
  }
  const assets = new Map<string, DashboardAsset>();
  for (const path of walk(dir)) {
    const type = CONTENT_TYPES[extname(path)];
    if (!type) continue;
    assets.set(relative(dir, path).split(sep).join('/'), { body: readFileSync(path), type });
  }
  const digest = createHash('sha256');
  for (const [name, asset] of [...assets].sort(([a], [b]) => a.localeCompare(b))) digest.update(name).update(asset.body);
  const files = { template, version: digest.digest('hex').slice(0, 12), assets };
  if (dir === DASHBOARD_DIR) loaded = files;
  return files;
}

const escapeAttribute = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/**
 * The page for a request that reached `<base>/ui`: the API and asset addresses written into it, and every
 * module preloaded so the browser fetches them at once instead of discovering imports level by level.
 */
export function renderDashboardPage(template: string, apiBase: string, readOnly: boolean, version: string, modules: readonly string[] = []): string {
  const assets = `${apiBase}/ui/assets/${version}`;
  const values: Record<string, string> = { api: apiBase, assets, readOnly: String(readOnly) };
  const preload = modules.map((name) => `<link rel="modulepreload" href="${escapeAttribute(`${assets}/${name}`)}" />`).join('\n    ');
  return template
    .replace('<!-- modulepreload -->', preload)
    .replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in values ? escapeAttribute(values[key]!) : whole));
}

/**
 * The admin API's base as the browser sees it, from the URL the page was requested at (so a global
 * prefix or a proxy path in front is kept): '/api/stent/ui/?x' gives '/api/stent'.
 */
export function apiBaseOf(requestUrl: string): string {
  const path = requestUrl.split(/[?#]/, 1)[0]!.replace(/\/+$/, '');
  return path.replace(/\/ui$/, '');
}
