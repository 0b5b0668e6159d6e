// The Dispatch console: plain DOM over the REST API. Every value shown is set as text (never as HTML); the access token is
// held in memory only and the refresh token in this tab's session storage, dropped on sign-out or when the server refuses it.

const PRIORITIES = ['irod', 'critical', 'dangerous', 'routine_special'];
const PRIORITY_LABEL = { irod: 'IROD', critical: 'Critical', dangerous: 'Dangerous', routine_special: 'Routine/special' };
const REFRESH_KEY = 'dispatch.refresh';

const session = { access: null, accessExpires: 0, refreshTimer: null, me: null };
const board = { incidents: new Map(), feed: null, live: false };

// ---- small DOM helper: h('p', {class: 'x'}, 'text', child) — children are text or nodes, never markup.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const $ = (id) => document.getElementById(id);

// A labelled checkbox per item ([value, label]), named `name`, ids prefixed with `prefix`; read back with checked(form, name).
const checkboxes = (name, prefix, items) => items.map(([value, label]) => h('div', { class: 'row' },
  h('input', { type: 'checkbox', id: `${prefix}-${value}`, name, value }), h('label', { for: `${prefix}-${value}` }, label)));
const checked = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((c) => c.value);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '');

// ---- the API
class Problem extends Error {
  constructor(status, body) {
    const fields = body && body.errors ? Object.entries(body.errors).map(([k, v]) => `${k}: ${[].concat(v).join(' ')}`).join('; ') : '';
    super((body && (body.detail || body.title)) ? `${body.detail || body.title}${fields ? ' — ' + fields : ''}` : `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options = {}, retried = false) {
  const headers = { Accept: 'application/json' };
  if (session.access) headers.Authorization = 'Bearer ' + session.access;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method: options.method || 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  if (response.status === 401 && !retried && await refresh()) return api(path, options, true);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

// ---- signing in and staying signed in
function keepRefresh(token) {
  if (token) sessionStorage.setItem(REFRESH_KEY, token); else sessionStorage.removeItem(REFRESH_KEY);
}

function accept(tokens) {
  session.access = tokens.accessToken;
  session.accessExpires = Date.now() + tokens.expiresIn * 1000;
  keepRefresh(tokens.refreshToken);
  clearTimeout(session.refreshTimer);
  // Renewed a minute before it runs out (or at half its life when shorter), never kept past it.
  const wait = Math.max(5000, Math.min(tokens.expiresIn * 500, tokens.expiresIn * 1000 - 60000));
  session.refreshTimer = setTimeout(refresh, wait);
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  const response = await fetch('/api/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: token }) });
  if (!response.ok) { forget(); return false; }
  accept(await response.json());
  return true;
}

function forget() {
  session.access = null; session.me = null;
  keepRefresh(null);
  clearTimeout(session.refreshTimer);
  stopFeed();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  $('signin-error').textContent = '';
  try {
    const response = await fetch('/api/v1/auth/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Problem(response.status, body);
    form.password.value = '';
    accept(body);
    await start();
  } catch (e) {
    $('signin-error').textContent = e.message;
  }
}

async function signOut() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (token) await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + session.access }, body: JSON.stringify({ refreshToken: token }) }).catch(() => {});
  forget();
  location.hash = '';
  showSignIn();
}

function showSignIn() {
  $('signin').hidden = false; $('view').replaceChildren(); $('nav').hidden = true; $('signout').hidden = true; $('who').textContent = ''; $('live').textContent = '';
  $('signin-email').focus();
}

// ---- navigation
const isPsap = () => session.me && session.me.agencyType === 'psap';
const can = (permission) => session.me && session.me.permissions.includes(permission);

function routes() {
  const list = [];
  if (isPsap()) list.push(['#/board', 'Board'], ['#/raise', 'Raise an incident']);
  else list.push(['#/respond', 'My notifications']);
  if (can('preferences.manage-own')) list.push(['#/me/channels', 'My channels']);
  if (can('users.manage')) list.push(['#/admin/users', 'Users']);
  if (can('roles.manage')) list.push(['#/admin/roles', 'Roles']);
  if (can('transport-channels.manage')) list.push(['#/admin/channels', 'Channels']);
  if (can('notification-rules.manage')) list.push(['#/admin/rules', 'Channel rules']);
  if (can('escalation-rules.manage')) list.push(['#/admin/escalation', 'Escalation']);
  if (can('command-connections.manage')) list.push(['#/admin/cad', 'CAD links']);
  if (can('api-keys.manage')) list.push(['#/admin/keys', 'API keys']);
  return list;
}

function renderNav(current) {
  $('nav').replaceChildren(...routes().map(([href, label]) => h('a', { href, 'aria-current': href === current ? 'page' : null }, label)));
  $('nav').hidden = false;
}

async function route() {
  if (!session.me) return;
  const hash = location.hash || (isPsap() ? '#/board' : '#/respond');
  renderNav(hash);
  const view = $('view');
  try {
    if (hash === '#/board') await showBoard(view);
    else if (hash === '#/raise') showRaise(view);
    else if (hash === '#/respond') await showRespond(view);
    else if (hash === '#/admin/users') await showUsers(view);
    else if (hash === '#/admin/channels') await showChannels(view);
    else if (hash === '#/me/channels') await showPreferences(view);
    else if (hash === '#/admin/roles') await showRoles(view);
    else if (hash === '#/admin/rules') await showChannelRules(view);
    else if (hash === '#/admin/escalation') await showEscalation(view);
    else if (hash === '#/admin/cad') await showConnections(view);
    else if (hash === '#/admin/keys') await showKeys(view);
    else view.replaceChildren(h('p', {}, 'Nothing here.'));
  } catch (e) {
    view.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
  }
}

// ---- the live feed: server-sent events read through fetch, so that the token goes in a header and never in a URL
function stopFeed() {
  if (board.feed) board.feed.abort();
  board.feed = null;
  setLive(false);
}

function setLive(live) {
  board.live = live;
  $('live').textContent = session.access ? (live ? '● Live' : '○ Reconnecting…') : '';
}

async function startFeed(delay = 1000) {
  if (!session.access || board.feed) return;
  const controller = new AbortController();
  board.feed = controller;
  try {
    const response = await fetch('/api/v1/incidents/events', { headers: { Authorization: 'Bearer ' + session.access, Accept: 'text/event-stream' }, signal: controller.signal });
    if (response.status === 401 && await refresh()) { board.feed = null; return startFeed(); }
    if (!response.ok) throw new Error('HTTP ' + response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    delay = 1000;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        const type = (block.match(/^event: ?(.*)$/m) || [])[1] || 'message';
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        await onEvent(type, data ? JSON.parse(data) : null);
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  if (board.feed !== controller) return;
  board.feed = null;
  setLive(false);
  setTimeout(() => startFeed(Math.min(delay * 2, 15000)), delay);
}

async function onEvent(type, data) {
  if (type === 'ready') {
    setLive(true);
    await route(); // whatever changed while not listening is read again now
  } else if (type === 'incident') {
    await incidentChanged(data.incidentId);
  }
}

// ---- the board (PSAP)
async function loadIncident(id) {
  try {
    const [detail, people] = await Promise.all([api(`/api/v1/incidents/${id}`), api(`/api/v1/incidents/${id}/people`)]);
    detail.people = new Map(people.map((p) => [p.userId, p]));
    if (['open', 'acknowledged'].includes(detail.incident.status)) board.incidents.set(id, detail); else board.incidents.delete(id);
  } catch (e) {
    if (e.status === 404) board.incidents.delete(id); else throw e;
  }
}

async function incidentChanged(id) {
  const hash = location.hash || (isPsap() ? '#/board' : '#/respond');
  if (hash === '#/board') { await loadIncident(id); drawBoard(); }
  else if (hash === '#/respond') { await route(); }
}

async function showBoard(view) {
  view.replaceChildren(h('h1', {}, 'Open incidents'), h('div', { id: 'board', class: 'board', 'aria-live': 'polite' }));
  const lists = await Promise.all(['open', 'acknowledged'].map((status) => api(`/api/v1/incidents?status=${status}&pageSize=100`)));
  board.incidents.clear();
  await Promise.all(lists.flatMap((l) => l.items).map((i) => loadIncident(i.id)));
  drawBoard();
}

function drawBoard() {
  const container = $('board');
  if (!container) return;
  const sorted = [...board.incidents.values()].sort((a, b) =>
    PRIORITIES.indexOf(a.incident.priority) - PRIORITIES.indexOf(b.incident.priority) || b.incident.createdAt.localeCompare(a.incident.createdAt));
  container.replaceChildren(...(sorted.length ? sorted.map(incidentCard) : [h('p', { class: 'empty' }, 'No open incidents.')]));
}

const personName = (detail, id) => (detail.people && detail.people.get(id) ? detail.people.get(id).name : 'someone');

function companyState(detail, company) {
  if (company.acknowledged) return ['state-acked', `Acknowledged by ${personName(detail, company.ackedByUserId)} at ${time(company.ackedAt)} (${(company.ackSource || '').replace('_', ' ')})`];
  if (company.noRecipients) return ['state-unreachable', 'Nobody can be reached'];
  const tier = company.currentTier + 1;
  if (company.currentTier > 0 || company.escalationCycle > 0) return ['state-escalated', `ESCALATED — tier ${tier}${company.escalationCycle ? `, cycle ${company.escalationCycle + 1}` : ''}`];
  return ['state-waiting', `Waiting — tier ${tier}`];
}

function deliveriesOf(notification) {
  return notification.deliveries.map((d) => h('li', {}, `${d.transportTypeSlug}: ${d.sendStatus}${d.attemptCount > 1 ? ` (attempt ${d.attemptCount})` : ''}`));
}

function incidentCard(detail) {
  const i = detail.incident;
  const rows = detail.companies.map((c) => {
    const [cls, text] = companyState(detail, c);
    const people = c.notifications.map((n) => h('li', {},
      `Tier ${n.tier + 1}: ${personName(detail, n.notifiedUserId)} — ${n.ackStatus === 'acked' ? 'acknowledged ' + time(n.ackedAt) : n.escalatedAt ? 'escalated' : 'pending'}`,
      h('ul', { class: 'deliveries' }, deliveriesOf(n))));
    return h('tr', { 'data-company': c.agencyId },
      h('th', { scope: 'row' }, c.name),
      h('td', {}, h('span', { class: cls }, text),
        !c.acknowledged && c.nextDeadline ? h('div', {}, 'Next step in ', h('span', { class: 'countdown', 'data-deadline': c.nextDeadline }, countdown(c.nextDeadline))) : null),
      h('td', {}, c.notifications.length ? h('ul', { class: 'deliveries' }, people) : h('span', { class: 'empty' }, 'nobody notified')));
  });
  const alerts = detail.psapAlerts.length
    ? h('div', { class: 'alert', role: 'note' }, `PSAP alert sent to ${detail.psapAlerts.map((a) => `${personName(detail, a.notifiedUserId)} (${a.deliveries.map((d) => d.transportTypeSlug + ' ' + d.sendStatus).join(', ')})`).join('; ')}`)
    : null;
  return h('article', { class: `card p-${i.priority}`, 'data-incident': i.id, 'aria-labelledby': `t-${i.id}` },
    h('div', { class: 'row' }, h('span', { class: `badge ${i.priority}` }, PRIORITY_LABEL[i.priority] || i.priority), h('h2', { id: `t-${i.id}` }, i.title)),
    h('div', { class: 'meta' }, `${i.status} · raised ${time(i.createdAt)}${i.address ? ' · ' + i.address : ''}`),
    rows.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Company'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Notified'))), h('tbody', {}, rows))
      : h('p', { class: 'empty' }, 'No company assigned.'),
    alerts);
}

function countdown(iso) {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (seconds <= 0) return 'due now';
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

setInterval(() => document.querySelectorAll('.countdown').forEach((el) => { el.textContent = countdown(el.dataset.deadline); }), 1000);

// ---- raising an incident (PSAP)
function showRaise(view) {
  const status = h('p', { class: 'error', role: 'alert' });
  const companies = h('fieldset', {}, h('legend', {}, 'Companies'), h('p', { class: 'empty' }, 'Loading…'));
  const form = h('form', { class: 'form', id: 'raise-form' },
    h('label', { for: 'raise-priority' }, 'Priority'),
    h('select', { id: 'raise-priority', name: 'priority', required: true }, PRIORITIES.map((p) => h('option', { value: p }, PRIORITY_LABEL[p]))),
    h('label', { for: 'raise-title' }, 'Title'), h('input', { id: 'raise-title', name: 'title', required: true, maxlength: 200 }),
    h('label', { for: 'raise-description' }, 'Description'), h('textarea', { id: 'raise-description', name: 'description', rows: 3 }),
    h('label', { for: 'raise-address' }, 'Address'), h('input', { id: 'raise-address', name: 'address' }),
    companies,
    h('button', { type: 'submit', class: 'primary' }, 'Raise incident'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = '';
    const agencyIds = checked(form, 'company');
    try {
      const created = await api('/api/v1/incidents', {
        method: 'POST',
        body: { priority: form.priority.value, title: form.title.value, description: form.description.value, address: form.address.value || null, agencyIds },
      });
      location.hash = '#/board';
      return created;
    } catch (e) {
      status.textContent = e.message;
    }
  });
  view.replaceChildren(h('h1', {}, 'Raise an incident'), form);
  api('/api/v1/agencies?pageSize=200').then((page) => {
    const list = page.items.filter((a) => a.agencyType === 'company' && a.isActive);
    companies.replaceChildren(h('legend', {}, 'Companies'), ...(list.length ? checkboxes('company', 'company', list.map((a) => [a.id, a.name]))
      : [h('p', { class: 'empty' }, 'No company is linked to this PSAP yet.')]));
  }).catch((e) => { status.textContent = e.message; });
}

// ---- the responder's view (company)
async function showRespond(view) {
  const lists = await Promise.all(['open', 'acknowledged'].map((status) => api(`/api/v1/incidents?status=${status}&pageSize=100`)));
  const details = await Promise.all(lists.flatMap((l) => l.items).map((i) => api(`/api/v1/incidents/${i.id}`)));
  const mine = details.filter((d) => d.companies.some((c) => c.notifications.some((n) => n.notifiedUserId === session.me.userId)));
  const cards = await Promise.all(mine.map(async (d) => {
    const company = d.companies.find((c) => c.agencyId === session.me.agencyId) || d.companies[0];
    const pending = company.notifications.some((n) => n.notifiedUserId === session.me.userId && n.ackStatus === 'pending') && !company.acknowledged;
    const log = await api(`/api/v1/incidents/${d.incident.id}/communications?pageSize=50`).catch(() => ({ items: [] }));
    const status = h('p', { role: 'status' });
    const button = pending ? h('button', { type: 'button', class: 'ack', onclick: async () => {
      button.disabled = true;
      try { await api(`/api/v1/incidents/${d.incident.id}/ack`, { method: 'POST' }); status.textContent = 'Acknowledged.'; await route(); }
      catch (e) { status.textContent = e.message; button.disabled = false; }
    } }, 'Acknowledge') : null;
    return h('article', { class: `card p-${d.incident.priority}`, 'data-incident': d.incident.id, 'aria-labelledby': `r-${d.incident.id}` },
      h('div', { class: 'row' }, h('span', { class: `badge ${d.incident.priority}` }, PRIORITY_LABEL[d.incident.priority]), h('h2', { id: `r-${d.incident.id}` }, d.incident.title)),
      h('div', { class: 'meta' }, d.incident.address || 'No address given'),
      h('p', {}, d.incident.description),
      company.acknowledged ? h('p', { class: 'state-acked' }, `Your company acknowledged at ${time(company.ackedAt)}`) : null,
      button, status,
      h('details', {}, h('summary', {}, 'Communication log'),
        h('ul', { class: 'log' }, log.items.map((e) => h('li', {}, `${time(e.createdAt)} ${e.communicationType}: ${e.content || ''}`)))));
  }));
  view.replaceChildren(h('h1', {}, 'My notifications'), h('div', { class: 'board' }, cards.length ? cards : h('p', { class: 'empty' }, 'Nothing waiting for you.')));
}

// ---- administration: users
async function showUsers(view) {
  const [users, roles] = await Promise.all([api('/api/v1/users?pageSize=200'), api('/api/v1/roles?pageSize=200')]);
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'form', id: 'user-form' },
    h('label', { for: 'user-email' }, 'Email'), h('input', { id: 'user-email', name: 'email', type: 'email', required: true }),
    h('label', { for: 'user-first' }, 'First name'), h('input', { id: 'user-first', name: 'firstName', required: true }),
    h('label', { for: 'user-last' }, 'Last name'), h('input', { id: 'user-last', name: 'lastName', required: true }),
    h('label', { for: 'user-password' }, 'Initial password'), h('input', { id: 'user-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true }),
    h('label', { for: 'user-role' }, 'Role'), h('select', { id: 'user-role', name: 'roleId' }, roles.items.map((r) => h('option', { value: r.id }, r.name))),
    h('button', { type: 'submit', class: 'primary' }, 'Add user'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/api/v1/users', { method: 'POST', body: { email: form.email.value, firstName: form.firstName.value, lastName: form.lastName.value, password: form.password.value, roleId: form.roleId.value } });
      await route();
    } catch (e) { status.textContent = e.message; }
  });
  const roleName = (id) => (roles.items.find((r) => r.id === id) || {}).name || '';
  view.replaceChildren(h('h1', {}, 'Users'),
    h('table', { id: 'users' }, h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', 'Active'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, users.items.map((u) => h('tr', {}, h('td', {}, `${u.firstName} ${u.lastName}`), h('td', {}, u.email), h('td', {}, roleName(u.roleId)), h('td', {}, u.isActive ? 'yes' : 'no'))))),
    h('h2', {}, 'Add a user'), form);
}

// ---- administration: channels, their settings drawn from each transport's published schema
async function showChannels(view) {
  const [channels, types] = await Promise.all([api('/api/v1/transport-channels?pageSize=200'), api('/api/v1/transport-types')]);
  const typeList = types.items || types;
  const status = h('p', { role: 'alert', class: 'error' });
  const settings = h('fieldset', {}, h('legend', {}, 'Settings'));
  const typeSelect = h('select', { id: 'channel-type', name: 'transportType' }, typeList.map((t) => h('option', { value: t.slug }, t.name)));
  const drawSettings = () => {
    const type = typeList.find((t) => t.slug === typeSelect.value);
    const props = Object.entries((type && type.configSchema && type.configSchema.properties) || {});
    settings.replaceChildren(h('legend', {}, 'Settings (leave empty for the platform\'s)'), ...props.flatMap(([name, schema]) => {
      const id = `cfg-${name}`;
      const input = schema.type === 'boolean' ? h('input', { id, name, type: 'checkbox', 'data-kind': 'boolean' })
        : h('input', { id, name, type: schema.writeOnly ? 'password' : schema.type === 'integer' ? 'number' : 'text', 'data-kind': schema.type, autocomplete: 'off' });
      return [h('label', { for: id }, name), schema.description ? h('small', {}, schema.description) : null, input];
    }));
  };
  typeSelect.addEventListener('change', drawSettings);
  const form = h('form', { class: 'form', id: 'channel-form' },
    h('label', { for: 'channel-type' }, 'Transport'), typeSelect,
    h('label', { for: 'channel-name' }, 'Name'), h('input', { id: 'channel-name', name: 'name', required: true }),
    settings, h('button', { type: 'submit', class: 'primary' }, 'Add channel'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const config = {};
    settings.querySelectorAll('input').forEach((input) => {
      if (input.dataset.kind === 'boolean') { if (input.checked) config[input.name] = true; }
      else if (input.value !== '') config[input.name] = input.dataset.kind === 'integer' ? Number(input.value) : input.value;
    });
    try {
      await api('/api/v1/transport-channels', { method: 'POST', body: { transportType: typeSelect.value, name: form.name.value, config } });
      await route();
    } catch (e) { status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'Channels'),
    h('table', { id: 'channels' }, h('thead', {}, h('tr', {}, ['Name', 'Transport', 'Active'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, channels.items.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, c.transportType || c.transportTypeSlug || ''), h('td', {}, c.isActive ? 'yes' : 'no'))))),
    h('h2', {}, 'Add a channel'), form);
  drawSettings();
}

// ---- the signed-in user's own channels, in the order they are tried
const OVERRIDE = { email: 'to', sms: 'phone', voice: 'phone', webhook: 'url', telegram: 'chatId' };

async function showPreferences(view) {
  const [current, active] = await Promise.all([
    api(`/api/v1/users/${session.me.userId}/transport-preferences`), api(`/api/v1/users/${session.me.userId}/transport-preferences/channels`)]);
  const items = (current.items || current).slice().sort((a, b) => a.priorityOrder - b.priorityOrder);
  const status = h('p', { role: 'alert', class: 'error' });
  const rows = h('ol', { id: 'preferences' });
  const addRow = (pref) => {
    const index = rows.children.length;
    const channel = h('select', { id: `pref-channel-${index}`, 'aria-label': `Channel ${index + 1}` },
      active.map((c) => h('option', { value: c.id, selected: pref && pref.transportChannelId === c.id }, `${c.name} (${c.transportTypeSlug})`)));
    const mode = h('select', { id: `pref-mode-${index}`, 'aria-label': `Delivery mode ${index + 1}` },
      [['all', 'at once with the others'], ['failover', 'only if the one before failed']].map(([v, l]) => h('option', { value: v, selected: pref && pref.deliveryMode === v }, l)));
    const own = pref && pref.configOverride ? Object.values(pref.configOverride)[0] : '';
    const override = h('input', { id: `pref-override-${index}`, 'aria-label': `My address on channel ${index + 1} (phone, email, chat)`, value: own || '', placeholder: 'my phone, address or chat (optional)' });
    const remove = h('button', { type: 'button', onclick: () => row.remove() }, 'Remove');
    const row = h('li', { class: 'row' }, channel, mode, override, remove);
    rows.append(row);
  };
  items.forEach(addRow);
  const form = h('form', { class: 'form', id: 'preferences-form' }, rows,
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => addRow(null) }, 'Add a channel'), h('button', { type: 'submit', class: 'primary' }, 'Save')), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const preferences = [...rows.children].map((row, i) => {
      const [channel, mode, override] = row.querySelectorAll('select, input');
      const slug = (active.find((c) => c.id === channel.value) || {}).transportTypeSlug;
      return { transportChannelId: channel.value, priorityOrder: i + 1, deliveryMode: mode.value,
        configOverride: override.value ? { [OVERRIDE[slug] || 'to']: override.value } : null };
    });
    try { await api(`/api/v1/users/${session.me.userId}/transport-preferences`, { method: 'PUT', body: { preferences } }); status.className = 'ok'; status.textContent = 'Saved.'; }
    catch (e) { status.className = 'error'; status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'My channels'), h('p', {}, 'Where Dispatch reaches you, in this order.'), form);
}

// ---- escalation rules (company): ordered tiers of people, how long each waits
async function showEscalation(view) {
  const [rules, users, psapUsers] = await Promise.all([api('/api/v1/escalation-rules?pageSize=100'), api('/api/v1/users?pageSize=200'),
    api('/api/v1/escalation-rules/psap-users')]);
  const name = (id) => { const u = users.items.find((x) => x.id === id); return u ? `${u.firstName} ${u.lastName}` : id; };
  const psapName = (id) => { const u = psapUsers.find((x) => x.userId === id); return u ? `${u.name} (${u.agencyName})` : 'a PSAP user'; };
  const status = h('p', { role: 'alert', class: 'error' });
  const tiers = h('div', { id: 'tiers' });
  const addTier = () => {
    const n = tiers.children.length + 1;
    tiers.append(h('fieldset', {}, h('legend', {}, `Tier ${n}`), checkboxes(`tier-${n}`, `tier-${n}`, users.items.filter((u) => u.isActive).map((u) => [u.id, `${u.firstName} ${u.lastName}`]))));
  };
  addTier();
  const form = h('form', { class: 'form', id: 'escalation-form' },
    h('label', { for: 'rule-timeout' }, 'Seconds each tier has to acknowledge'), h('input', { id: 'rule-timeout', name: 'timeout', type: 'number', min: 30, value: 300, required: true }),
    h('label', { for: 'rule-repeat' }, 'Times to start over after the last tier'), h('input', { id: 'rule-repeat', name: 'repeat', type: 'number', min: 0, value: 0 }),
    h('fieldset', {}, h('legend', {}, 'For priorities (none: all)'), checkboxes('priority', 'rule-priority', PRIORITIES.map((p) => [p, PRIORITY_LABEL[p]]))),
    tiers,
    h('fieldset', {}, h('legend', {}, 'PSAP people alerted when nobody acknowledges'), psapUsers.length ? checkboxes('psap', 'rule-psap', psapUsers.map((u) => [u.userId, `${u.name} (${u.agencyName})`]))
      : h('p', { class: 'empty' }, 'No PSAP works with this company yet.')),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: addTier }, 'Add a tier'), h('button', { type: 'submit', class: 'primary' }, 'Save rule')), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const escalationOrder = [...tiers.children].map((f) => ({ userIds: [...f.querySelectorAll('input:checked')].map((c) => c.value) })).filter((t) => t.userIds.length);
    try {
      const priorities = checked(form, 'priority');
      await api('/api/v1/escalation-rules', { method: 'POST', body: {
        ackTimeoutSeconds: Number(form.timeout.value), repeatCount: Number(form.repeat.value), escalationOrder, priorityFilter: priorities.length ? priorities : null,
        notifyPsapUserIds: checked(form, 'psap') } });
      await route();
    } catch (e) { status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'Escalation rules'),
    h('table', { id: 'rules' }, h('thead', {}, h('tr', {}, ['Priorities', 'Timeout', 'Tiers', 'Repeats', 'PSAP users alerted'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rules.items.map((r) => h('tr', {}, h('td', {}, (r.priorityFilter || ['all']).join(', ')), h('td', {}, `${r.ackTimeoutSeconds} s`),
        h('td', {}, r.escalationOrder.map((t, i) => `${i + 1}: ${[...(t.userIds || []).map(name), ...(t.roleSlugs || [])].join(', ')}`).join(' → ')),
        h('td', {}, String(r.repeatCount)), h('td', {}, r.notifyPsapUserIds.map(psapName).join(', ') || 'nobody'))))),
    h('h2', {}, 'Add a rule'), form);
}

// ---- roles: named sets of the permissions this agency's kind allows
async function showRoles(view) {
  const roles = await api('/api/v1/roles?pageSize=200');
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'form', id: 'role-form' },
    h('label', { for: 'role-name' }, 'Name'), h('input', { id: 'role-name', name: 'name', required: true }),
    h('label', { for: 'role-slug' }, 'Short name (letters, digits, dashes)'), h('input', { id: 'role-slug', name: 'slug', required: true, pattern: '[a-z0-9-]+' }),
    h('fieldset', {}, h('legend', {}, 'Permissions'), checkboxes('permission', 'perm', session.me.permissions.map((p) => [p, p]))),
    h('button', { type: 'submit', class: 'primary' }, 'Add role'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/api/v1/roles', { method: 'POST', body: { name: form.name.value, slug: form.slug.value, permissions: checked(form, 'permission') } });
      await route();
    } catch (e) { status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'Roles'),
    h('table', { id: 'roles' }, h('thead', {}, h('tr', {}, ['Name', 'Permissions', 'Built in'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, roles.items.map((r) => h('tr', {}, h('td', {}, r.name), h('td', {}, r.permissions.join(', ')), h('td', {}, r.isBuiltin ? 'yes' : 'no'))))),
    h('h2', {}, 'Add a role'), form);
}

// ---- channel rules: which channels serve which priorities, and at what times of day (the agency's time zone)
async function showChannelRules(view) {
  const [rules, channels] = await Promise.all([api('/api/v1/notification-rules?pageSize=200'), api('/api/v1/transport-channels?pageSize=200')]);
  const channelName = (id) => (channels.items.find((c) => c.id === id) || {}).name || id;
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'form', id: 'channel-rule-form' },
    h('label', { for: 'crule-channel' }, 'Channel'), h('select', { id: 'crule-channel', name: 'channel' }, channels.items.filter((c) => c.isActive).map((c) => h('option', { value: c.id }, c.name))),
    h('fieldset', {}, h('legend', {}, 'For priorities (none: all)'), checkboxes('priority', 'crule-priority', PRIORITIES.map((p) => [p, PRIORITY_LABEL[p]]))),
    h('label', { for: 'crule-start' }, 'From (time of day, empty: always)'), h('input', { id: 'crule-start', name: 'timeStart', type: 'time' }),
    h('label', { for: 'crule-end' }, 'Until'), h('input', { id: 'crule-end', name: 'timeEnd', type: 'time' }),
    h('button', { type: 'submit', class: 'primary' }, 'Add rule'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const priorities = checked(form, 'priority');
    try {
      await api('/api/v1/notification-rules', { method: 'POST', body: { transportChannelId: form.channel.value, priorityFilter: priorities.length ? priorities : null,
        timeStart: form.timeStart.value || null, timeEnd: form.timeEnd.value || null } });
      await route();
    } catch (e) { status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'Channel rules'),
    h('table', { id: 'channel-rules' }, h('thead', {}, h('tr', {}, ['Channel', 'Priorities', 'Hours', 'Active'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rules.items.map((r) => h('tr', {}, h('td', {}, channelName(r.transportChannelId)), h('td', {}, (r.priorityFilter || ['all']).join(', ')),
        h('td', {}, r.timeStart ? `${r.timeStart.slice(0, 5)}–${(r.timeEnd || '').slice(0, 5)}` : 'always'), h('td', {}, r.isActive ? 'yes' : 'no'))))),
    h('h2', {}, 'Add a rule'), form);
}

// A secret the server shows once: on the page until the admin leaves it, never stored.
function shownOnce(title, pairs) {
  return h('div', { class: 'alert', role: 'status', id: 'shown-once' }, h('p', {}, `${title} — copy now, it is not shown again:`),
    pairs.map(([label, value]) => h('p', {}, `${label}: `, h('code', {}, value))));
}

// ---- command connections (PSAP): CAD links, how acknowledgements reach them, their heartbeat
async function showConnections(view, created = null) {
  const [connections, users] = await Promise.all([api('/api/v1/command-connections?pageSize=100'), api('/api/v1/users?pageSize=200')]);
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'form', id: 'cad-form' },
    h('label', { for: 'cad-name' }, 'Name'), h('input', { id: 'cad-name', name: 'name', required: true }),
    h('label', { for: 'cad-mode' }, 'Acknowledgements'), h('select', { id: 'cad-mode', name: 'ackMode' }, h('option', { value: 'poll' }, 'it polls for them'), h('option', { value: 'callback' }, 'Dispatch calls it back')),
    h('label', { for: 'cad-url' }, 'Callback URL (for call-backs)'), h('input', { id: 'cad-url', name: 'publicUrl', type: 'url' }),
    h('label', { for: 'cad-heartbeat' }, 'Heartbeat every (seconds, empty for none)'), h('input', { id: 'cad-heartbeat', name: 'heartbeat', type: 'number', min: 5 }),
    h('fieldset', {}, h('legend', {}, 'Alert when it goes silent'), checkboxes('notify', 'cad-notify', users.items.filter((u) => u.isActive).map((u) => [u.id, `${u.firstName} ${u.lastName}`]))),
    h('button', { type: 'submit', class: 'primary' }, 'Connect'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const made = await api('/api/v1/command-connections', { method: 'POST', body: {
        name: form.name.value, ackMode: form.ackMode.value, publicUrl: form.publicUrl.value || null,
        heartbeatIntervalSeconds: form.heartbeat.value ? Number(form.heartbeat.value) : null,
        notifyPsapUserIds: checked(form, 'notify') } });
      await showConnections(view, made);
    } catch (e) { status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'CAD links'),
    created ? shownOnce(`"${created.connection.name}" connected`, [['API key', created.apiKey], ['Callback signing secret', created.callbackSecret]]) : '',
    h('table', { id: 'connections' }, h('thead', {}, h('tr', {}, ['Name', 'Acknowledgements', 'Heartbeat', 'Last heard', 'Active'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, connections.items.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, c.ackMode),
        h('td', { class: c.heartbeatStatus === 'silent' ? 'state-escalated' : '' }, c.heartbeatStatus === 'off' ? 'off' : `${c.heartbeatStatus} (every ${c.heartbeatIntervalSeconds} s)`),
        h('td', {}, c.lastSeenAt ? new Date(c.lastSeenAt).toLocaleString() : 'never'), h('td', {}, c.isActive ? 'yes' : 'no'))))),
    h('h2', {}, 'Connect a CAD system'), form);
}

// ---- API keys: scopes are permissions the admin holds; the key is shown once
async function showKeys(view, created = null) {
  const keys = await api('/api/v1/api-keys?pageSize=100');
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'form', id: 'key-form' },
    h('label', { for: 'key-name' }, 'Name'), h('input', { id: 'key-name', name: 'name', required: true }),
    h('fieldset', {}, h('legend', {}, 'What it may do'), checkboxes('scope', 'scope', session.me.permissions.map((p) => [p, p]))),
    h('button', { type: 'submit', class: 'primary' }, 'Create key'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const made = await api('/api/v1/api-keys', { method: 'POST', body: { name: form.name.value, scopes: checked(form, 'scope') } });
      await showKeys(view, made);
    } catch (e) { status.textContent = e.message; }
  });
  view.replaceChildren(h('h1', {}, 'API keys'),
    created ? shownOnce(`Key "${created.apiKey.name}" created`, [['Key', created.key]]) : '',
    h('table', { id: 'keys' }, h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Scopes', 'Last used', 'Revoked'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, keys.items.map((k) => h('tr', {}, h('td', {}, k.name), h('td', {}, k.keyPrefix), h('td', {}, k.scopes.join(', ')),
        h('td', {}, k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : 'never'), h('td', {}, k.revokedAt ? 'yes' : 'no'))))),
    h('h2', {}, 'Create a key'), form);
}

// ---- start
async function start() {
  session.me = await api('/api/v1/me');
  $('signin').hidden = true;
  $('signout').hidden = false;
  $('who').textContent = `${session.me.name} · ${session.me.agencyName}`;
  await route();
  startFeed();
}

$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
(async () => {
  if (await refresh().catch(() => false)) { try { await start(); return; } catch { forget(); } }
  showSignIn();
})();
