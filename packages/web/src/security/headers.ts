/**
 * Security headers on every page response. The CSP allows nothing but this origin's own
 * stylesheet, script, fetches and form targets: no inline script or style, no frames, no
 * plugins. Pages carry secrets in their URLs (approval and status links), so no Referer ever
 * leaves, and nothing is cached but the versioned assets.
 */
import type { MiddlewareHandler } from "hono";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export function pageHeaders(options: { readonly https: boolean }): MiddlewareHandler {
  return async (c, next) => {
    await next();
    setPageHeaders(c.res.headers, options);
  };
}

export function setPageHeaders(h: Headers, options: { readonly https: boolean }): void {
  h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("X-Frame-Options", "DENY");
  h.set("Referrer-Policy", "no-referrer");
  h.set("Cross-Origin-Opener-Policy", "same-origin");
  h.set("Cross-Origin-Resource-Policy", "same-origin");
  h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  if (options.https) h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}
