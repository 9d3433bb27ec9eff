import type { ProfileSummary } from './profile.js';

export type Profiles = { bare: ProfileSummary; ingest: ProfileSummary; latency: ProfileSummary; drain: ProfileSummary | null };

/** Where the app's CPU goes, per request next to the bare handler's, and per drained message. */
export function formatProfiles(engine: string, p: Profiles): string {
  const out: string[] = [];
  const us = (prof: ProfileSummary, layer: string) => prof.byLayer.find((l) => l.layer === layer)?.usPerUnit ?? 0;
  const layers = [...new Set([...p.ingest.byLayer, ...p.bare.byLayer].map((l) => l.layer))]
    .map((layer) => ({ layer, app: us(p.ingest, layer), bare: us(p.bare, layer) }))
    .sort((a, b) => b.app - b.bare - (a.app - a.bare));
  const total = (prof: ProfileSummary) => prof.byLayer.reduce((sum, l) => sum + (l.usPerUnit ?? 0), 0);
  out.push('', `[${engine}] CPU per request by layer, profiled closed-loop rounds (µs; profiler overhead included; ${p.bare.units} bare / ${p.ingest.units} app requests)`);
  out.push(`  ${'layer'.padEnd(42)} ${'bare'.padStart(6)} ${'app'.padStart(6)} ${'extra'.padStart(6)}`);
  for (const l of layers) {
    if (l.app === 0 && l.bare === 0) continue;
    out.push(`  ${l.layer.padEnd(42)} ${String(l.bare).padStart(6)} ${String(l.app).padStart(6)} ${String(l.app - l.bare).padStart(6)}`);
  }
  out.push(`  ${'total'.padEnd(42)} ${String(total(p.bare)).padStart(6)} ${String(total(p.ingest)).padStart(6)} ${String(total(p.ingest) - total(p.bare)).padStart(6)}`);
  out.push('  hottest app functions (self): ' + p.ingest.topFunctions.slice(0, 8).map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`).join(', '));
  if (p.drain) {
    out.push('', `[${engine}] CPU per drained message by layer (µs; ${p.drain.units} messages)`);
    for (const l of p.drain.byLayer.slice(0, 14)) out.push(`  ${l.layer.padEnd(42)} ${String(l.usPerUnit).padStart(6)}  ${String(l.pct).padStart(5)}%`);
    out.push('  hottest functions (self): ' + p.drain.topFunctions.slice(0, 8).map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`).join(', '));
  }
  out.push(`  files: bench/results/${engine}-{bare,ingest,latency,drain}.cpuprofile (open in Chrome DevTools)`);
  return out.join('\n');
}
