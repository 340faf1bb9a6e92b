/**
 * The console's Content-Security-Policy: its own files only, no inline script or style markup, no
 * framing, and calls to its own origin (the API) and to Cognito's (sign-in's token endpoint) alone.
 * The tokens it holds in sessionStorage are worth this much.
 */
export function consoleContentSecurityPolicy(signInOrigin?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${signInOrigin ? ` ${signInOrigin}` : ''}`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
