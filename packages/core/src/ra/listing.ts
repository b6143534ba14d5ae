/**
 * What operators browse: requests by status, and a search (certificates are the inventory's:
 * inventory-listing.ts). All of it reads the eventually consistent status index, newest
 * first; nothing here feeds a decision.
 */
import { normaliseSerial } from "../certificate/serial.ts";
import { describePrincipal } from "../identity/principal.ts";
import {
  isRequestId,
  type Request,
  type RequestStatus,
  requestStatuses,
} from "../requests/request.ts";
import type { Page, PageInput, RequestRepository } from "../store/request-repository.ts";
import type { San } from "../x509/general-names.ts";

export interface RequestRow {
  readonly id: string;
  readonly status: RequestStatus;
  readonly requester: string;
  /** Who submitted it, as authenticated. */
  readonly requestedBy: string;
  readonly profile: string;
  readonly subject: string;
  readonly sans: readonly San[];
  readonly serial: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface SearchResult {
  readonly rows: readonly RequestRow[];
  /** How many of the newest requests per status the text search looked through. */
  readonly searchedPerStatus: number;
}

/** The text search looks at this many of the newest requests in each status. */
export const SEARCH_DEPTH = 200;
const SEARCH_RESULTS = 50;

export function requestRow(request: Request): RequestRow {
  return {
    id: request.id,
    status: request.status,
    requester: request.requester,
    requestedBy: describePrincipal(request.principal),
    profile: request.profile,
    subject: request.csrSummary.subject,
    sans: request.csrSummary.sans,
    serial: request.serial,
    createdAt: request.createdAt,
    updatedAt: request.updatedAt,
  };
}

export async function listRequests(
  repository: Pick<RequestRepository, "listRequestsByStatus">,
  status: RequestStatus,
  page: PageInput,
): Promise<Page<RequestRow>> {
  const found = await repository.listRequestsByStatus(status, { ...page, newestFirst: true });
  return { items: found.items.map(requestRow), next: found.next };
}

/**
 * Requests matching `text`: an exact request id or certificate serial, or the text within the
 * requester, subject, SANs, profile or id of the newest SEARCH_DEPTH requests of each status.
 */
export async function searchRequests(
  repository: Pick<RequestRepository, "getRequest" | "getCertificate" | "listRequestsByStatus">,
  text: string,
): Promise<SearchResult> {
  const needle = text.trim().toLowerCase();
  const rows = new Map<string, RequestRow>();
  if (needle === "") return { rows: [], searchedPerStatus: 0 };
  if (isRequestId(text.trim())) {
    const exact = await repository.getRequest(text.trim());
    if (exact) rows.set(exact.id, requestRow(exact));
  }
  const serial = normaliseSerial(needle);
  if (serial) {
    const certificate = await repository.getCertificate(serial);
    const request = certificate && (await repository.getRequest(certificate.requestId));
    if (request) rows.set(request.id, requestRow(request));
  }
  const lists = await Promise.all(
    requestStatuses.map((status) =>
      repository.listRequestsByStatus(status, { limit: SEARCH_DEPTH, newestFirst: true }),
    ),
  );
  const matches = lists
    .flatMap((list) => list.items)
    .filter((r) =>
      [
        r.id,
        r.requester,
        r.principal.email ?? r.principal.id,
        r.profile,
        r.csrSummary.subject,
        r.serial ?? "",
        ...r.csrSummary.sans.map((s) => s.value),
      ].some((field) => field.toLowerCase().includes(needle)),
    )
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  for (const request of matches) {
    if (rows.size >= SEARCH_RESULTS) break;
    rows.set(request.id, requestRow(request));
  }
  return { rows: [...rows.values()], searchedPerStatus: SEARCH_DEPTH };
}
