import { escapeHtml } from '../html.js';

export { escapeHtml };

/** Minimal server-rendered pages for the browser steps of install (no UI bundle needed there). */

export function page(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#21232c;line-height:1.5}
h1{font-size:1.4rem}.ok{color:#08a742}.warn{background:#fff6e5;border:1px solid #f5c26b;padding:.75rem 1rem;border-radius:6px}
a.button{display:inline-block;background:#017737;color:#fff;padding:.5rem 1rem;border-radius:6px;text-decoration:none}
</style></head><body>${bodyHtml}</body></html>`;
}
