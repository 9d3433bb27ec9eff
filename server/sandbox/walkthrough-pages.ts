/**
 * Pages of the sandbox walk-through. Scripts are served as files (the CSP allows no inline script). `host.js`
 * speaks the wire protocol of Pipedrive's App Extensions SDK (postMessage with a transferred MessagePort): it answers each command once on the
 * MessagePort the iframe transferred, keeps listener ports to push events, and ignores tracking messages.
 */

const STYLE = `
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#21232c}
header{background:#21232c;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:baseline}
header small{color:#b9bcc4}
main{display:grid;grid-template-columns:300px 360px 1fr;gap:16px;padding:16px}
section{background:#fff;border:1px solid #e0e1e4;border-radius:8px;padding:12px}
h2{font-size:14px;margin:0 0 8px}
ol,ul{margin:0;padding-left:18px}
.deal{cursor:pointer;padding:4px 6px;border-radius:4px}
.deal[aria-current=true]{background:#e6f6ec}
.stages{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
button{font:inherit;border:1px solid #017737;background:#017737;color:#fff;border-radius:4px;padding:4px 10px;cursor:pointer}
button.secondary{background:#fff;color:#017737}
button:disabled{opacity:.5}
iframe{width:100%;border:1px solid #e0e1e4;border-radius:6px;background:#fff;height:300px}
.phone{background:#1c1d21;color:#eee;border-radius:18px;padding:12px;min-height:260px}
.bubble{background:#33343a;border-radius:12px;padding:6px 10px;margin:6px 0;white-space:pre-wrap}
.bubble.mine{background:#017737;margin-left:30%}
.bubble small{display:block;color:#aaa;font-size:11px}
.reply{display:flex;gap:6px;margin-top:8px}.reply input{flex:1;font:inherit;padding:4px 6px}
.muted{color:#6a6c74}.note{font-size:12px;color:#6a6c74}
.activity{border-bottom:1px solid #eee;padding:4px 0}
`;

export function walkthroughPageHtml(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SMS for Pipedrive — sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head><body>
<header><strong>SMS for Pipedrive — sandbox</strong><small id="company">loading…</small>
  <a href="/sandbox/settings" style="margin-left:auto;color:#fff">The settings page (automations, rules, reports) →</a></header>
<main>
  <section aria-label="Pipeline">
    <h2>1. Pick a deal</h2>
    <ol id="deals"></ol>
    <h2 style="margin-top:12px">2. Move it into a stage</h2>
    <p class="note">Automations: <span id="automations"></span></p>
    <div class="stages" id="stages"></div>
    <p class="note" id="moved"></p>
    <h2 style="margin-top:12px">Quiet hours</h2>
    <label class="note"><input type="checkbox" id="quiet-hours"> Hold automation texts outside <span id="window">08:00–21:00</span> in the contact's local time</label>
    <p class="note" id="contact-clock"></p>
    <h2 style="margin-top:12px">Activities in Pipedrive</h2>
    <div id="activities" class="note"></div>
    <h2 style="margin-top:12px">Start again</h2>
    <p class="note"><button class="secondary" id="reset" type="button">Reset the demo</button>
      <span id="reset-note">Deals back in Lead in, no texts or replies, nobody opted out by a reply, quiet hours off (a restart does the same).</span></p>
  </section>
  <section aria-label="Deal view">
    <h2>3. The deal panel (as Pipedrive shows it)</h2>
    <p class="note">Theme: <button class="secondary" id="theme" type="button">Dark</button></p>
    <iframe id="panel" title="SMS for Pipedrive panel"></iframe>
  </section>
  <section aria-label="Simulated phone">
    <h2>4. The contact's phone <span class="muted" id="phone-number"></span></h2>
    <div class="phone" id="inbox" aria-live="polite"></div>
    <form class="reply" id="reply"><label class="visually-hidden" for="reply-text">Reply</label>
      <input id="reply-text" placeholder="Reply as the contact…" autocomplete="off">
      <button type="submit">Reply</button></form>
    <div class="stages"><button class="secondary" data-quick="STOP" type="button">STOP</button>
      <button class="secondary" data-quick="START" type="button">START</button>
      <button class="secondary" data-quick="STOP NOW please" type="button">STOP NOW please</button>
      <button class="secondary" data-quick="Sounds good, call me tomorrow" type="button">Free text</button></div>
  </section>
</main>
<script type="module" src="/sandbox/assets/host.js"></script>
<script type="module" src="/sandbox/assets/walkthrough.js"></script>
</body></html>`;
}

export function hostPageHtml(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Panel host</title>
<style>body{margin:0;padding:16px;background:#f4f5f7}iframe{width:340px;border:1px solid #ccc;background:#fff;height:300px}</style></head>
<body><iframe id="panel" title="SMS for Pipedrive panel"></iframe>
<script type="module" src="/sandbox/assets/host.js"></script>
<script type="module" src="/sandbox/assets/host-page.js"></script></body></html>`;
}

/** The app-settings page as Pipedrive opens it (full width), for the admin of the demo company. */
export function settingsHostPageHtml(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SMS for Pipedrive — sandbox settings</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}
main{display:block;max-width:1040px;margin:0 auto}iframe{height:600px}</style></head><body>
<header><strong>SMS for Pipedrive — sandbox</strong><small>App settings, as Pipedrive shows them to the admin</small>
  <a href="/sandbox" style="margin-left:auto;color:#fff">← Back to the deal walk-through</a></header>
<main><iframe id="panel" title="SMS for Pipedrive settings"></iframe></main>
<script type="module" src="/sandbox/assets/host.js"></script>
<script type="module" src="/sandbox/assets/settings-host.js"></script></body></html>`;
}

/** The SDK host side, shared by the pages. Exposes window.pdHost for the page script and for browser tests. */
export const HOST_JS = `
const frame = document.getElementById('panel');
const log = [];
const listeners = new Map();
// The deal panel may be 100–750 px high; the settings page is a full page.
const clamp = (h) => Math.max(100, Math.min(state.surface === 'settings' ? 4000 : 750, Math.round(h)));
const state = { dealId: null, theme: 'light', userId: null, surface: 'panel' };

async function token() {
  const res = await fetch('/sandbox/api/token' + (state.userId ? '?userId=' + state.userId : ''));
  return (await res.json()).token;
}

window.addEventListener('message', async (event) => {
  if (event.source !== frame.contentWindow) return;
  const message = event.data || {};
  const payload = message.payload;
  if (!payload || payload.type === 'track') return;
  const port = event.ports && event.ports[0];
  if (!port) return;
  if (payload.type === 'listener') {
    listeners.set(payload.event, port);
    log.push({ type: 'listener', event: payload.event, at: performance.now() });
    return;
  }
  if (payload.type !== 'command') return;
  log.push({ type: 'command', command: payload.command, args: payload.args, at: performance.now() });
  try {
    switch (payload.command) {
      case 'initialize':
      case 'resize': {
        const height = payload.command === 'initialize' ? payload.args && payload.args.size && payload.args.size.height : payload.args && payload.args.height;
        if (height) frame.style.height = clamp(height) + 'px';
        port.postMessage({});
        break;
      }
      case 'get_signed_token': port.postMessage({ data: { token: await token() } }); break;
      case 'get_metadata': port.postMessage({ data: { windowWidth: innerWidth, windowHeight: innerHeight } }); break;
      case 'show_confirmation': port.postMessage({ data: { confirmed: true } }); break;
      case 'open_modal': port.postMessage({ data: { status: 'closed' } }); break;
      default: port.postMessage({});
    }
  } catch (error) {
    port.postMessage({ error: String(error) });
  }
});

window.pdHost = {
  log,
  state,
  async open(dealId, options = {}) {
    state.dealId = dealId;
    state.surface = 'panel';
    state.theme = options.theme || state.theme;
    state.userId = options.userId || null;
    listeners.clear();
    const q = new URLSearchParams({ id: 'sandbox-panel', userId: String(options.userId || ''), companyId: '1001', resource: 'deal', view: 'details', selectedIds: String(dealId), theme: state.theme, token: await token() });
    frame.src = '/panel?' + q.toString();
  },
  async openSettings(options = {}) {
    state.surface = 'settings';
    state.theme = options.theme || state.theme;
    state.userId = options.userId || null;
    listeners.clear();
    const q = new URLSearchParams({ id: 'sandbox-settings', userId: String(options.userId || ''), companyId: '1001', resource: 'settings', view: 'settings', theme: state.theme, token: await token() });
    frame.src = '/settings?' + q.toString();
  },
  push(event, data) { const port = listeners.get(event); if (port) port.postMessage({ data }); return !!port; },
  setTheme(theme) { state.theme = theme; return this.push('user_settings_change', { theme }); },
  show() { return this.push('visibility', { is_visible: true }); },
  initialized() { return log.some((e) => e.command === 'initialize'); },
};
`;

export const HOST_PAGE_JS = `
const q = new URLSearchParams(location.search);
window.pdHost.open(Number(q.get('dealId')), { theme: q.get('theme') || 'light', userId: q.get('userId') ? Number(q.get('userId')) : undefined });
`;

export const SETTINGS_HOST_JS = `
window.pdHost.openSettings({ theme: new URLSearchParams(location.search).get('theme') || 'light' });
`;

export const WALKTHROUGH_JS = `
const $ = (id) => document.getElementById(id);
let selected = null;
let phone = null;
let theme = 'light';
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const e164 = (raw) => { const d = (raw || '').replace(/[^0-9+]/g, ''); return d.startsWith('+') ? d : d.length === 11 && d.startsWith('1') ? '+' + d : '+1' + d; };

async function render() {
  const q = new URLSearchParams();
  if (selected) q.set('dealId', selected);
  if (phone) q.set('phone', phone);
  const s = await (await fetch('/sandbox/api/state?' + q)).json();
  $('company').textContent = s.company ? s.company.name + ' — installed, provisioning ' + s.company.provisioning : 'not installed';
  $('automations').textContent = s.automations.map((a) => a.name + ' (stage ' + (s.stages.find((x) => x.id === a.trigger.stageId) || {}).name + ')').join(', ') || 'none';
  $('deals').innerHTML = s.deals.map((d) => '<li class="deal" tabindex="0" data-deal="' + d.id + '" aria-current="' + (d.id === (s.deal && s.deal.id)) + '">' + esc(d.title) + '<br><span class="note">' + esc(d.person ? d.person.name + ' · ' + d.person.phone + ' · ' + status(s, d.person.id) : 'no person') + ' · ' + esc((s.stages.find((x) => x.id === d.stageId) || {}).name) + '</span></li>').join('');
  $('stages').innerHTML = s.stages.map((st) => '<button type="button" class="' + (s.deal && s.deal.stageId === st.id ? '' : 'secondary') + '" data-stage="' + st.id + '">' + esc(st.name) + '</button>').join('');
  $('quiet-hours').checked = !!s.quietHours;
  $('window').textContent = s.quietHours ? s.quietHours.start + '–' + s.quietHours.end : '08:00–21:00';
  $('contact-clock').textContent = clockText(s);
  $('activities').innerHTML = s.activities.map((a) => '<div class="activity"><strong>' + esc(a.subject) + '</strong><div>' + a.note + '</div></div>').join('') || 'none yet';
  if (s.deal && s.deal.person && !phone) { phone = e164(s.deal.person.phone); return render(); }
  $('phone-number').textContent = phone || '';
  $('inbox').innerHTML = (s.phone ? s.phone.inbox : []).map((m) => '<div class="bubble' + (m.kind === 'reply' ? ' mine' : '') + '">' + esc(m.body) + '<small>' + esc(m.kind) + ' · from ' + esc(m.from) + '</small></div>').join('') || '<span class="note">No messages on this phone yet.</span>';
  if (!selected && s.deal) { selected = s.deal.id; window.pdHost.open(selected, { theme }); }
}

const status = (s, personId) => ((s.persons || []).find((p) => p.id === personId) || {}).status || '';
function clockText(s) {
  const c = s.contactClock;
  if (!c) return '';
  const times = c.zones.map((z) => z.localTime + ' (' + z.zone + ')').join(', ');
  const now = c.open ? 'a text due now goes at once.' : c.opensAt ? 'a text due now waits until ' + c.opensAt + ' their time (the panel shows it scheduled).' : 'a text due now would not be sent (no common hour).';
  return 'It is ' + times + ' for ' + c.name + ': ' + (s.quietHours ? now : 'quiet hours are off, so a text goes at once' + (c.open ? '.' : ' (except the Florida/Oklahoma limit: ' + now + ')'));
}
const post = (path, body) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
$('quiet-hours').addEventListener('change', async (e) => { await post('/sandbox/api/quiet-hours', { on: e.target.checked }); await render(); });

document.addEventListener('click', async (e) => {
  const t = e.target.closest('[data-deal],[data-stage],[data-quick],#theme,#reset');
  if (!t) return;
  if (t.id === 'reset') {
    t.disabled = true;
    const r = await post('/sandbox/api/reset', { confirm: true });
    t.disabled = false;
    $('reset-note').textContent = r.ok ? 'The demo is back in its first state.' : 'The reset failed (' + r.status + ').';
    $('moved').textContent = '';
    phone = null;
    if (selected) window.pdHost.open(selected, { theme });
  }
  if (t.dataset.deal) { selected = Number(t.dataset.deal); phone = null; window.pdHost.open(selected, { theme }); }
  if (t.dataset.stage) {
    const r = await fetch('/sandbox/api/move', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dealId: selected, stageId: Number(t.dataset.stage) }) });
    const j = await r.json();
    $('moved').textContent = 'Pipedrive fired ' + j.deliveries.length + ' webhook(s): ' + j.deliveries.map((d) => d.status + ' ' + d.body).join('; ');
  }
  if (t.dataset.quick) await reply(t.dataset.quick);
  if (t.id === 'theme') { theme = theme === 'light' ? 'dark' : 'light'; t.textContent = theme === 'light' ? 'Dark' : 'Light'; window.pdHost.setTheme(theme); }
  await render();
});
document.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.target.dataset && e.target.dataset.deal) e.target.click(); });
async function reply(body) {
  if (!phone) return;
  await fetch('/sandbox/api/reply', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: phone, body }) });
  setTimeout(() => window.pdHost.show(), 300);
}
$('reply').addEventListener('submit', async (e) => { e.preventDefault(); const v = $('reply-text').value.trim(); if (!v) return; $('reply-text').value = ''; await reply(v); await render(); });
render();
setInterval(render, 1500);
`;
