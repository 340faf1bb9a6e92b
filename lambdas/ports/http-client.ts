export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Talks to the fulfilment systems. Throws CalloutError on a timeout, a refused connection or a body over the limit. */
export interface HttpClient {
  send(request: HttpRequest): Promise<HttpResponse>;
}
