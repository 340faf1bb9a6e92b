/**
 * Hash routes (`#/orders/<id>`): the console is static files, so every page is one file and a reload
 * or a shared link lands where it was without any rewrite on the server.
 */
export type Route =
  | { page: 'orders'; state?: string; search?: string }
  | { page: 'order'; orderId: string; item?: string }
  | { page: 'systems' }
  | { page: 'system'; systemId: string; tab?: string; interfaceId?: string }
  | { page: 'fallout' }
  | { page: 'retry-rules'; ruleId?: string; creating?: boolean }
  | { page: 'listeners' }
  | { page: 'jeopardy' };

export function parseRoute(hash: string): Route {
  const [path = '', queryText = ''] = hash.replace(/^#\/?/, '').split('?');
  const params = new URLSearchParams(queryText);
  const [first, second] = path.split('/').map(decodeURIComponent);
  const optional = (name: string) => {
    const value = params.get(name);
    return value ? { [name]: value } : {};
  };
  switch (first) {
    case 'orders':
      return second
        ? { page: 'order', orderId: second, ...optional('item') }
        : { page: 'orders', ...optional('state'), ...optional('search') };
    case 'systems':
      return second
        ? {
            page: 'system',
            systemId: second,
            ...optional('tab'),
            ...(params.get('interface') ? { interfaceId: params.get('interface') as string } : {}),
          }
        : { page: 'systems' };
    case 'fallout':
      return { page: 'fallout' };
    case 'listeners':
      return { page: 'listeners' };
    case 'jeopardy':
      return { page: 'jeopardy' };
    case 'retry-rules':
      return {
        page: 'retry-rules',
        ...(second ? { ruleId: second } : {}),
        ...(params.get('new') ? { creating: true } : {}),
      };
    default:
      return { page: 'orders' };
  }
}

export function href(route: Route): string {
  const q = (params: Record<string, string | undefined>) => {
    const defined = Object.entries(params).filter((e): e is [string, string] => Boolean(e[1]));
    return defined.length ? `?${new URLSearchParams(defined)}` : '';
  };
  switch (route.page) {
    case 'orders':
      return `#/orders${q({ state: route.state, search: route.search })}`;
    case 'order':
      return `#/orders/${encodeURIComponent(route.orderId)}${q({ item: route.item })}`;
    case 'systems':
      return '#/systems';
    case 'system':
      return `#/systems/${encodeURIComponent(route.systemId)}${q({ tab: route.tab, interface: route.interfaceId })}`;
    case 'fallout':
      return '#/fallout';
    case 'listeners':
      return '#/listeners';
    case 'jeopardy':
      return '#/jeopardy';
    case 'retry-rules':
      if (route.creating) return '#/retry-rules?new=1';
      return route.ruleId ? `#/retry-rules/${encodeURIComponent(route.ruleId)}` : '#/retry-rules';
  }
}
