// The operators' dashboard: fills the server-rendered page from the gateway's live stream
// (/-/api/events) and acts through /-/api/…. No framework and no build step: the page is small,
// and the Content-Security-Policy allows this one script only. Every value from the system is
// put in the page as text (textContent), never as HTML.
'use strict';

(() => {
  const LIVE_ORDERS = 50;
  const IN_FLIGHT = ['PENDING', 'CONFIRMED', 'PAYMENT_PROCESSING'];
  /** The header that marks a call as the dashboard's own (the gateway refuses state changes without it). */
  const ACTION_HEADERS = { 'x-shopflow-dashboard': '1' };

  const $ = (id) => document.getElementById(id);
  const orders = new Map();
  let selected;

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs ?? {})) {
      if (value === undefined || value === null) continue;
      if (key === 'className') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(tbody, rows, empty, columns) {
    tbody.replaceChildren(
      ...(rows.length > 0 ? rows : [el('tr', { className: 'empty' }, el('td', { colspan: columns }, empty))]),
    );
  }

  const time = (iso) => (iso ? new Date(iso).toISOString().slice(11, 23) : '');
  const shortId = (id) => id.slice(0, 8);

  function flash(text, kind = 'info') {
    const node = $('flash');
    node.textContent = text;
    node.dataset.kind = kind;
  }

  /** POSTs to the dashboard's API; resolves with the parsed answer, rejects with its problem's detail. */
  async function act(path, body) {
    const init = { method: 'POST', headers: { ...ACTION_HEADERS }, credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.detail || answer.title || `HTTP ${res.status}`);
    return answer;
  }

  // Services ------------------------------------------------------------------------------------

  function renderHealth({ services }) {
    const rows = [];
    for (const service of services) {
      for (const [i, instance] of service.instances.entries()) {
        const checks = Object.entries(instance.checks)
          .map(([name, result]) => `${name}: ${result}`)
          .join(' · ');
        rows.push(
          el(
            'tr',
            { 'data-service': service.name, 'data-status': instance.status },
            el('td', null, i === 0 ? service.name : ''),
            el('td', null, instance.address),
            el('td', null, el('span', { className: `badge health-${instance.status.replace(' ', '-')}` }, instance.status)),
            el('td', { className: 'detail' }, checks),
            el('td', { className: 'num' }, instance.latency_ms === null ? '–' : `${instance.latency_ms} ms`),
          ),
        );
      }
    }
    fill($('services').tBodies[0], rows, 'no services', 5);
  }

  // Counts --------------------------------------------------------------------------------------

  function renderStats({ counts, recent }) {
    const sum = (list) => list.reduce((n, s) => n + (counts[s] ?? 0), 0);
    const tiles = [
      ['completed', counts.COMPLETED],
      ['cancelled', counts.CANCELLED],
      ['failed', counts.FAILED],
      ['in flight', sum(IN_FLIGHT)],
    ];
    $('counts').replaceChildren(
      ...tiles.map(([label, n]) =>
        el('div', { className: 'tile', 'data-count': label }, el('span', { className: 'n' }, n), el('span', null, label)),
      ),
    );
    const perMinute = (n) => ((n * 60) / recent.window_s).toFixed(1);
    $('rates').textContent =
      `last ${recent.window_s} s: ${perMinute(recent.placed)} placed/min · ` +
      `${perMinute(recent.counts.COMPLETED)} completed/min · ${perMinute(recent.counts.CANCELLED)} cancelled/min · ` +
      `${perMinute(recent.counts.FAILED)} failed/min`;
  }

  // Live orders ---------------------------------------------------------------------------------

  function renderOrders() {
    const newest = [...orders.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    for (const stale of newest.slice(LIVE_ORDERS)) orders.delete(stale.id);
    const rows = newest.slice(0, LIVE_ORDERS).map((o) =>
      el(
        'tr',
        {
          'data-order': o.id,
          'data-status': o.status,
          className: `order${o.id === selected ? ' selected' : ''}`,
          onclick: () => openTimeline(o.id),
          title: o.status_reason ?? '',
        },
        el('td', null, el('code', { title: o.id }, shortId(o.id))),
        el('td', null, o.customer_id),
        el('td', null, o.product_id),
        el('td', { className: 'num' }, o.quantity),
        el('td', { className: 'num' }, o.amount.toFixed(2)),
        el('td', null, el('span', { className: `badge status-${o.status}` }, o.status)),
        el('td', null, time(o.updated_at)),
      ),
    );
    fill($('orders').tBodies[0], rows, 'no orders yet: place a test order', 7);
  }

  // Saga timeline -------------------------------------------------------------------------------

  async function openTimeline(orderId) {
    selected = orderId;
    renderOrders();
    $('timeline-order').textContent = orderId;
    const res = await fetch(`/-/api/sagas/${encodeURIComponent(orderId)}`, { credentials: 'same-origin' });
    if (selected !== orderId) return;
    if (res.status === 404) {
      $('timeline-summary').replaceChildren(el('dt', null, 'saga'), el('dd', null, 'not started yet'));
      fill($('timeline').tBodies[0], [], 'no steps yet', 5);
      return;
    }
    const answer = await res.json();
    if (!res.ok) {
      flash(`timeline: ${answer.detail || res.status}`, 'error');
      return;
    }
    renderTimeline(answer);
  }

  function renderTimeline({ saga, steps }) {
    const retries = steps.filter((s) => s.result === 'retry').length;
    const compensations = steps.filter((s) => s.result === 'compensating').length;
    const took = steps.length > 0 ? Date.parse(steps[steps.length - 1].at) - Date.parse(saga.created_at) : 0;
    const summary = [
      ['state', el('span', { className: `badge status-${saga.state}`, id: 'timeline-state' }, saga.state)],
      ['trace id', el('code', { id: 'trace-id' }, saga.trace_id ?? 'none')],
      ['took', `${took} ms`],
      ['retries', retries],
      ['compensations', compensations],
      ['payment', saga.payment_id ?? '–'],
    ];
    if (saga.reason) summary.push(['reason', saga.reason]);
    if (saga.parked) summary.push(['parked', `waiting for an operator at ${saga.action}`]);
    $('timeline-summary').replaceChildren(...summary.flatMap(([term, value]) => [el('dt', null, term), el('dd', null, value)]));

    let previous = Date.parse(saga.created_at);
    const rows = steps.map((step) => {
      const at = Date.parse(step.at);
      const row = el(
        'tr',
        { 'data-action': step.action, 'data-result': step.result, className: `step result-${step.result}` },
        el('td', null, time(step.at)),
        el('td', { className: 'num' }, at - previous),
        el('td', null, step.action),
        el('td', null, step.result),
        el('td', { className: 'detail' }, step.detail ?? ''),
      );
      previous = at;
      return row;
    });
    fill($('timeline').tBodies[0], rows, 'no steps yet', 5);
  }

  // Parked sagas and dead letters -----------------------------------------------------------------

  function renderParked({ sagas }) {
    const rows = sagas.map((s) =>
      el(
        'tr',
        { 'data-order': s.order_id },
        el('td', null, el('code', { title: s.order_id }, shortId(s.order_id))),
        el('td', null, s.action ?? ''),
        el('td', null, s.compensations.join(', ')),
        el('td', { className: 'detail' }, s.reason ?? ''),
        el('td', null, el('button', { type: 'button', onclick: (e) => retrySaga(s.order_id, e.currentTarget) }, 'Retry')),
      ),
    );
    fill($('parked').tBodies[0], rows, 'none parked', 5);
  }

  async function retrySaga(orderId, button) {
    button.disabled = true;
    try {
      const saga = await act(`/-/api/sagas/${encodeURIComponent(orderId)}/retry`);
      flash(`saga ${shortId(orderId)} resumed: ${saga.state}`);
    } catch (error) {
      flash(`retry of ${shortId(orderId)} refused: ${error.message}`, 'error');
      button.disabled = false;
    }
  }

  function renderDlq({ dead_letters: letters, total }) {
    $('dlq-total').textContent = `(${total})`;
    const rows = letters.map((l) =>
      el(
        'tr',
        { 'data-seq': l.seq },
        el('td', { className: 'num' }, l.seq),
        el('td', null, l.subject),
        el('td', null, l.consumer),
        el('td', { className: 'num' }, l.deliveries),
        el('td', { className: 'detail', title: l.payload }, l.reason),
        el('td', null, time(l.at)),
        el('td', null, el('button', { type: 'button', onclick: (e) => replay(l.seq, e.currentTarget) }, 'Replay')),
      ),
    );
    fill($('dlq').tBodies[0], rows, 'the DLQ is empty', 7);
  }

  async function replay(seq, button) {
    button.disabled = true;
    try {
      const letter = await act(`/-/api/dlq/${seq}/replay`);
      flash(`dead letter #${seq} replayed on ${letter.subject}`);
    } catch (error) {
      flash(`replay of #${seq} refused: ${error.message}`, 'error');
      button.disabled = false;
    }
  }

  // Test orders -----------------------------------------------------------------------------------

  $('test-orders').addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('place-test-orders');
    const result = $('test-orders-result');
    button.disabled = true;
    result.textContent = 'placing…';
    try {
      const { placed, refused } = await act('/-/api/test-orders', { count: Number($('test-order-count').value) });
      result.textContent = `placed ${placed.length}${refused.length > 0 ? `, refused ${refused.length} (${refused.join(', ')})` : ''}`;
      result.dataset.placed = placed.join(' ');
    } catch (error) {
      result.textContent = `refused: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });

  // The live stream -------------------------------------------------------------------------------

  const connection = $('connection');
  const setConnection = (state, text) => {
    connection.dataset.state = state;
    connection.textContent = text;
  };
  const unavailable = new Map();
  const on = (source, event, handle) =>
    source.addEventListener(event, (message) => {
      handle(JSON.parse(message.data));
    });

  const source = new EventSource('/-/api/events');
  source.addEventListener('open', () => setConnection('live', 'live'));
  source.addEventListener('error', () => {
    // EventSource reconnects by itself, unless the gateway refused it (a session that ended).
    if (source.readyState === EventSource.CLOSED) {
      setConnection('closed', 'disconnected: reload to sign in again');
    } else setConnection('connecting', 'reconnecting…');
  });
  on(source, 'orders', ({ orders: changed }) => {
    for (const o of changed) orders.set(o.id, o);
    renderOrders();
    // The open timeline follows its order until the saga is over.
    const current = changed.find((o) => o.id === selected);
    if (current) void openTimeline(current.id);
  });
  on(source, 'stats', renderStats);
  on(source, 'health', renderHealth);
  on(source, 'parked', renderParked);
  on(source, 'dlq', renderDlq);
  on(source, 'unavailable', ({ source: name, detail }) => {
    if (detail === null) unavailable.delete(name);
    else unavailable.set(name, detail);
    $('orders-note').textContent = [...unavailable.entries()].map(([n, d]) => `${n}: ${d}`).join(' · ');
  });
})();
