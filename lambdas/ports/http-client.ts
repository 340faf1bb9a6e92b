export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Mutual TLS: the client certificate to present and the CA to trust (an `mtls` auth profile). */
  tls?: ClientTls;
}

/**
 * What a request to a system behind mutual TLS takes into its handshake, all PEM. Key material: it is
 * never stored or logged, and reaches nothing but the TLS connection.
 */
export interface ClientTls {
  /** Names the material (its auth profile's id): requests with the same id share a connection pool. */
  profileId: string;
  /** The client certificate, optionally followed by the intermediates that chain it to the system's CA. */
  certificate: string;
  privateKey: string;
  /** The private key's passphrase, when it is encrypted. */
  passphrase?: string;
  /** The only CAs trusted for the system's server certificate; without it, the public roots. */
  caBundle?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Talks to the fulfilment systems. Throws CalloutError on a timeout, a refused connection or handshake, or
 * a body over the limit.
 */
export interface HttpClient {
  send(request: HttpRequest): Promise<HttpResponse>;
}
