import { useEffect, useState } from 'preact/hooks';
import { href, parseRoute, type Route } from './routes';

export { href, parseRoute, type Route };

/** Changes the route without a new history entry (a filter, a selection). */
export function replaceRoute(route: Route): void {
  history.replaceState(null, '', href(route));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}
