/**
 * Behind the Router (stacks/web.ts) the API's function URL is reached by CloudFront alone, with
 * origin access control: CloudFront's SigV4 signature replaces the client's Authorization
 * header, and the function sees the edge's address, not the client's. The Router's viewer-request
 * function copies both into x-pki-* headers (overwriting any a client sent); this puts them back
 * where the app reads them, so the API and pages work as anywhere else. Only when the stack says
 * the function is behind the Router (PKI_VIEWER_HEADERS=cloudfront): elsewhere a client could set
 * the headers itself.
 */

export const VIEWER_AUTHORIZATION = "x-pki-authorization";
export const VIEWER_ADDRESS = "x-pki-viewer-address";

export type ViewerHeaders = "cloudfront";

interface UrlEvent {
  headers?: Record<string, string | undefined>;
  requestContext?: { http?: { sourceIp?: string } };
}

/** The event as the client sent it: its Authorization (or none), its address. */
export function withViewerHeaders<E>(event: E): E {
  const { headers = {}, requestContext } = event as UrlEvent;
  const {
    authorization: _signature,
    [VIEWER_AUTHORIZATION]: viewerAuthorization,
    [VIEWER_ADDRESS]: viewerAddress,
    ...rest
  } = headers;
  return {
    ...event,
    headers:
      viewerAuthorization === undefined ? rest : { ...rest, authorization: viewerAuthorization },
    ...(viewerAddress && requestContext?.http
      ? {
          requestContext: {
            ...requestContext,
            http: { ...requestContext.http, sourceIp: viewerAddress },
          },
        }
      : {}),
  };
}
