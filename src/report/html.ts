// The report as one self-contained HTML page: the bundled page script and styles (built into
// dist/report by scripts/build.mjs, the d3 modules inside) and the report's JSON, all inline,
// so the page needs no network. The same JSON text gives the same page, byte for byte.

import { readFileSync } from 'node:fs';

/** The built page script and styles: dist/report beside the package root, from src/ or dist/ alike. */
const VIEW = { script: new URL('../../dist/report/view.js', import.meta.url), styles: new URL('../../dist/report/view.css', import.meta.url) };

/** The page of report JSON `json` (report --json's text), titled after scenario `name`. */
export function reportHtml(json: string, name: string): string {
  const script = viewFile(VIEW.script);
  const styles = viewFile(VIEW.styles);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>shadowlab report: ${escapeHtml(name)}</title>`,
    `<style>\n${styles}</style>`,
    '</head>',
    '<body>',
    '<main></main>',
    `<script id="report-data" type="application/json">${scriptSafe(json)}</script>`,
    `<script>\n${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** A built view file; a missing one is a broken installation, said as such. */
function viewFile(url: URL): string {
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (e) {
    throw new Error(`report: the page script ${url.pathname} is missing (${(e as NodeJS.ErrnoException).code}); run npm run build`);
  }
  if (/<\/(script|style)/i.test(text)) throw new Error(`report: ${url.pathname} contains a closing script or style tag and cannot be inlined`);
  return text;
}

/** JSON text that cannot close its script element: every '<' written as \u003c (JSON has '<' only inside strings). */
function scriptSafe(json: string): string {
  return json.replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
