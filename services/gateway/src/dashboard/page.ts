// The dashboard's HTML, rendered on the server. Nothing here is inline script or style: the
// Content-Security-Policy allows only the gateway's own /-/dashboard.js and /-/dashboard.css.

/**
 * Headers of every dashboard page and asset: no inline code, no framing, and no referrer to
 * other sites. Not `no-referrer`: with it, the browser sends `Origin: null` on the page's own
 * form posts, which the cross-site check must refuse.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/-/dashboard.css">
</head>
<body>
${body}
</body>
</html>
`;
}

/** The sign-in prompt: paste an admin token. `error` says why the last one was refused. */
export function signInPage(error?: string): string {
  return layout(
    'Shopflow operations: sign in',
    `<main class="sign-in">
<h1>Shopflow operations</h1>
<p>Sign in with an admin token: <code>npm run -s token -- ops --admin</code> prints one, and <code>npm start</code> prints a link that signs you in.</p>
${error ? `<p class="error" role="alert" id="sign-in-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/-/session" id="sign-in">
<label for="token">Admin token</label>
<input type="password" id="token" name="token" autocomplete="off" required maxlength="8192">
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

/** The dashboard itself: the frame that /-/dashboard.js fills from the live stream. */
export function dashboardPage(subject: string): string {
  return layout(
    'Shopflow operations',
    `<header>
<h1>Shopflow operations</h1>
<span id="connection" class="connection" data-state="connecting">connecting…</span>
<span class="who">signed in as <strong id="subject">${escapeHtml(subject)}</strong></span>
<form method="post" action="/-/session/end"><button type="submit" id="sign-out">Sign out</button></form>
</header>
<main>
<section id="services-section">
<h2>Services</h2>
<table id="services"><thead><tr><th>service</th><th>instance</th><th>status</th><th>checks</th><th>latency</th></tr></thead><tbody></tbody></table>
</section>
<section id="counts-section">
<h2>Orders</h2>
<div id="counts" class="counts"></div>
<p id="rates" class="rates"></p>
<form id="test-orders">
<label for="test-order-count">Place test orders of PROD001, as customer DEMO:</label>
<input type="number" id="test-order-count" name="count" min="1" max="20" value="1" required>
<button type="submit" id="place-test-orders">Place</button>
<span id="test-orders-result" role="status"></span>
</form>
</section>
<section id="orders-section">
<h2>Live orders <small id="orders-note"></small></h2>
<table id="orders"><thead><tr><th>order</th><th>customer</th><th>product</th><th>qty</th><th>amount</th><th>status</th><th>updated</th></tr></thead><tbody></tbody></table>
</section>
<section id="timeline-section">
<h2>Saga timeline <small id="timeline-order">click an order to see its saga</small></h2>
<dl id="timeline-summary" class="summary"></dl>
<table id="timeline"><thead><tr><th>at</th><th>+ms</th><th>action</th><th>result</th><th>detail</th></tr></thead><tbody></tbody></table>
</section>
<section id="parked-section">
<h2>Parked sagas</h2>
<table id="parked"><thead><tr><th>order</th><th>failed action</th><th>still to run</th><th>reason</th><th></th></tr></thead><tbody></tbody></table>
</section>
<section id="dlq-section">
<h2>Dead letters <small id="dlq-total"></small></h2>
<table id="dlq"><thead><tr><th>seq</th><th>subject</th><th>consumer</th><th>deliveries</th><th>reason</th><th>at</th><th></th></tr></thead><tbody></tbody></table>
</section>
<p id="flash" role="status" class="flash"></p>
</main>
<script src="/-/dashboard.js" defer></script>`,
  );
}
