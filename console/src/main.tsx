import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { apiClient } from './api';
import { Session, type SignInConfig } from './auth';
import { FalloutPage } from './pages/fallout';
import { JeopardyPage } from './pages/jeopardy';
import { ListenersPage } from './pages/listeners';
import { OrderPage } from './pages/order';
import { OrdersPage } from './pages/orders';
import { RetryRulesPage } from './pages/retry-rules';
import { SystemPage, SystemsPage } from './pages/systems';
import { href, type Route, useRoute } from './router';

function App({ session }: { session: Session }) {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn)), [session]);
  const api = useMemo(
    () => apiClient({ token: () => session.token(), signedOut: () => session.expired() }),
    [session],
  );
  const route = useRoute();
  useEffect(() => {
    document.title = `${titleOf(route)} · Switchboard`;
  }, [route]);
  // A new page (not a filter or a selection on the same one) puts focus on its heading, so keyboard and
  // screen-reader users start there, as they would on a page loaded afresh.
  const pageId =
    route.page === 'order'
      ? `order ${route.orderId}`
      : route.page === 'system'
        ? `system ${route.systemId}`
        : route.page;
  const firstPage = useRef(true);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    requestAnimationFrame(() => document.querySelector<HTMLElement>('main h2')?.focus());
  }, [pageId]);
  if (!signedIn) return <SignIn session={session} />;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/orders">
          Switchboard
        </a>
        <nav aria-label="Console">
          <NavLink route={route} to={{ page: 'orders' }} pages={['orders', 'order']} label="Orders" />
          <NavLink route={route} to={{ page: 'systems' }} pages={['systems', 'system']} label="Systems" />
          <NavLink route={route} to={{ page: 'fallout' }} pages={['fallout']} label="Fallout" />
          <NavLink route={route} to={{ page: 'jeopardy' }} pages={['jeopardy']} label="Jeopardy" />
          <NavLink route={route} to={{ page: 'retry-rules' }} pages={['retry-rules']} label="Retry rules" />
          <NavLink route={route} to={{ page: 'listeners' }} pages={['listeners']} label="Listeners" />
        </nav>
        <a class="api-reference" href="/openapi.json" target="_blank" rel="noopener">
          API reference
        </a>
        <button type="button" class="sign-out" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main">{page(route, api)}</main>
    </>
  );
}

function page(route: Route, api: ReturnType<typeof apiClient>) {
  switch (route.page) {
    case 'orders':
      return <OrdersPage api={api} state={route.state} search={route.search} />;
    case 'order':
      return <OrderPage key={route.orderId} api={api} orderId={route.orderId} selected={route.item} />;
    case 'systems':
      return <SystemsPage api={api} />;
    case 'system':
      return (
        <SystemPage
          key={route.systemId}
          api={api}
          systemId={route.systemId}
          tab={route.tab}
          interfaceId={route.interfaceId}
        />
      );
    case 'fallout':
      return <FalloutPage api={api} />;
    case 'retry-rules':
      return <RetryRulesPage api={api} ruleId={route.ruleId} creating={route.creating} />;
    case 'listeners':
      return <ListenersPage api={api} />;
    case 'jeopardy':
      return <JeopardyPage api={api} />;
  }
}

/** What the browser's tab (and a screen reader, on a new page) says the page is. */
function titleOf(route: Route): string {
  switch (route.page) {
    case 'orders':
      return route.search ? `Orders matching ${route.search}` : 'Orders';
    case 'order':
      return `Order ${route.orderId}${route.item ? ` · ${route.item}` : ''}`;
    case 'systems':
      return 'Systems';
    case 'system':
      return `System ${route.systemId}${route.tab === 'on-hold' ? ' · on hold' : ''}${route.interfaceId ? ` · ${route.interfaceId}` : ''}`;
    case 'fallout':
      return 'Fallout';
    case 'retry-rules':
      return 'Retry rules';
    case 'listeners':
      return 'Listeners';
    case 'jeopardy':
      return 'Orders in jeopardy';
  }
}

function NavLink({
  route,
  to,
  pages,
  label,
}: {
  route: Route;
  to: Route;
  pages: Route['page'][];
  label: string;
}) {
  const current = pages.includes(route.page);
  return (
    <a href={href(to)} aria-current={current ? 'page' : undefined} class={current ? 'active' : undefined}>
      {label}
    </a>
  );
}

function SignIn({ session }: { session: Session }) {
  const [token, setToken] = useState('');
  if (session.config.kind === 'cognito') {
    return (
      <main class="sign-in">
        <h1>Switchboard operator console</h1>
        <button type="button" class="primary" onClick={() => void session.startCognitoSignIn()}>
          Sign in
        </button>
      </main>
    );
  }
  return (
    <main class="sign-in">
      <h1>Switchboard operator console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          session.useToken(token);
        }}
      >
        <label>
          Operator token{' '}
          <span class="muted">
            (printed by <code>npm start</code>; in <code>.local/identities.json</code>)
          </span>
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}

async function start(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) return;
  let config: SignInConfig;
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    config = ((await response.json()) as { signIn: SignInConfig }).signIn;
  } catch (error) {
    root.textContent = `The console cannot read its config.json: ${String(error)}`;
    return;
  }
  const session = new Session(config);
  await session.completeSignIn();
  render(<App session={session} />, root);
}

void start();
