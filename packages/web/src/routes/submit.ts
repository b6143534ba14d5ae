/**
 * The submit page: paste or upload a CSR (PEM or DER), give an email, a profile and a comment.
 * "Preview" shows what the CSR holds and the profile's verdict before anything is stored; with
 * scripts on, the preview follows the CSR as it is pasted or chosen (POST /csr/preview).
 * A submission redirects to the request's status page, whose link carries its secret.
 */
import { encodePem } from "@spca/core/encoding/pem";
import { showUnsafeInJson } from "@spca/core/encoding/unsafe-text";
import { isPkiError } from "@spca/core/errors";
import { hasRole } from "@spca/core/identity/principal";
import { requestPagePath } from "@spca/core/notifications/messages";
import type { CsrPreview } from "@spca/core/ra/registration-authority";
import { COMMENT_MAX_LENGTH, RequesterEmail } from "@spca/core/requests/submission-fields";
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import * as v from "valibot";
import { alert, csrFacts, csrfField } from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import type { Session } from "../security/session.ts";

interface Values {
  readonly csr: string;
  readonly email: string;
  readonly profile: string;
  readonly comment: string;
}

type Field = keyof Values;
type Errors = Partial<Record<Field | "form", string>>;

interface SubmitView {
  readonly session: Session | undefined;
  readonly values: Values;
  readonly errors?: Errors;
  readonly preview?: CsrPreview;
}

const empty: Values = { csr: "", email: "", profile: "", comment: "" };

export function submitRoutes(kit: Kit): Hono {
  const app = new Hono();
  /** Why this visitor may not submit; undefined when they may. */
  const mayNotSubmit = (session: Session | undefined): string | undefined => {
    if (session) {
      return hasRole(session.principal, "requester", "admin")
        ? undefined
        : `You are signed in as ${session.principal.email ?? session.principal.id}, who has no requester role.`;
    }
    return kit.settings.openSubmission ? undefined : "Sign in first.";
  };

  const page = (c: Context, view: SubmitView, status: 200 | 400 | 403 | 422 = 200) =>
    kit.render(c, {
      title: "Submit a CSR",
      section: "submit",
      session: view.session,
      status,
      main: submitMain(kit, c, view),
    });

  app.get("/", async (c) => {
    const session = await kit.sessions.current(c);
    return page(c, { session, values: empty });
  });

  app.post("/", async (c) => {
    const session = await kit.sessions.current(c);
    const form = await c.req.parseBody();
    if (!kit.csrf.accepts(c, form.csrf)) {
      return page(c, { session, values: empty, errors: { form: staleForm } }, 403);
    }
    const refusal = mayNotSubmit(session);
    if (refusal) return page(c, { session, values: empty, errors: { form: refusal } }, 403);
    const { values, errors } = await readForm(form, kit, session?.principal.email ?? null);
    if (form.action === "preview") {
      // A preview needs only the CSR; the profile and email, when valid, refine the verdict.
      if (errors.csr) return page(c, { session, values, errors: { csr: errors.csr } }, 400);
      try {
        // Four eyes as submission will judge it: on who is signed in, else the address given.
        const preview = kit.services.previewCsr(
          values.csr,
          errors.profile ? undefined : values.profile,
          session?.principal.email ?? (errors.email ? undefined : values.email),
        );
        return page(c, { session, values, preview });
      } catch (error) {
        if (!isPkiError(error)) throw error;
        return page(c, { session, values, errors: { csr: error.message } }, 422);
      }
    }
    if (Object.keys(errors).length > 0) return page(c, { session, values, errors }, 400);
    try {
      const { request, statusToken } = await kit.services.submit(
        {
          csr: values.csr,
          ...(values.email ? { email: values.email } : {}),
          profile: values.profile,
          ...(values.comment ? { comment: values.comment } : {}),
        },
        session?.principal ?? kit.services.anonymous(kit.clientAddress(c)),
        undefined,
      );
      // Without a token (never, short of an idempotent replay) the session opens the page.
      return c.redirect(
        statusToken
          ? requestPagePath(request.id, statusToken)
          : `/requests/${encodeURIComponent(request.id)}`,
        303,
      );
    } catch (error) {
      if (!isPkiError(error)) throw error;
      return page(c, { session, values, errors: { [fieldOf(error.code)]: error.message } }, 422);
    }
  });

  // The scripted preview: JSON in, JSON out; it changes nothing, so it needs no CSRF token.
  app.post("/csr/preview", async (c) => {
    if (c.req.header("content-type")?.split(";")[0]?.trim() !== "application/json") {
      return c.json({ code: "UNSUPPORTED_MEDIA_TYPE", message: "Send application/json." }, 415);
    }
    let body: { csr?: unknown; profile?: unknown; email?: unknown };
    try {
      body = (await c.req.json()) ?? {};
    } catch {
      return c.json({ code: "BODY_INVALID", message: "The body is not JSON." }, 400);
    }
    if (typeof body.csr !== "string" || body.csr.trim() === "") {
      return c.json({ code: "CSR_EMPTY", message: "Paste a CSR or choose a file." }, 400);
    }
    const profile = typeof body.profile === "string" && body.profile ? body.profile : undefined;
    const typed = typeof body.email === "string" && body.email ? body.email : undefined;
    const email = (await kit.sessions.current(c))?.principal.email ?? typed;
    try {
      // The script shows these strings as they are: unsafe characters arrive escaped.
      return c.json(showUnsafeInJson(kit.services.previewCsr(body.csr, profile, email)));
    } catch (error) {
      if (!isPkiError(error)) throw error;
      return c.json({ code: error.code, message: error.message }, 422);
    }
  });

  return app;
}

const staleForm =
  "The form had expired or did not come from this site. It has been reloaded: please try again.";

/** Which form field a PkiError is about. */
function fieldOf(code: string): Field | "form" {
  if (code === "PROFILE_UNKNOWN") return "profile";
  // About who is asking, not about a field.
  if (code === "APPROVAL_QUORUM_UNREACHABLE") return "form";
  if (code.startsWith("CSR_") || code.startsWith("POLICY_") || code.startsWith("KEY_"))
    return "csr";
  return "form";
}

/** `ownEmail`: the signed-in principal's, used when the field is left empty. */
async function readForm(
  form: Record<string, string | File | (string | File)[]>,
  kit: Kit,
  ownEmail: string | null,
): Promise<{ values: Values; errors: Errors }> {
  const text = (name: string) => {
    const value = form[name];
    return typeof value === "string" ? value : "";
  };
  const errors: Errors = {};
  let csr = text("csr").trim();
  const file = form.csrFile;
  if (file instanceof File && file.size > 0) {
    // An uploaded file wins over the text box; DER becomes PEM so the form can carry it on.
    const bytes = new Uint8Array(await file.arrayBuffer());
    const asText = Buffer.from(bytes).toString("latin1");
    csr = asText.includes("-----BEGIN") ? asText.trim() : encodePem("CERTIFICATE REQUEST", bytes);
  }
  if (csr === "") errors.csr = "Paste a CSR or choose a PEM or DER file.";
  const typed = text("email").trim();
  const email = v.safeParse(RequesterEmail, typed);
  if (!email.success && !(typed === "" && ownEmail))
    errors.email = "Enter the address for mails about this request, like dev@example.com.";
  const profile = text("profile");
  if (!kit.services.profiles().some((p) => p.name === profile)) {
    errors.profile = "Choose one of the profiles.";
  }
  const comment = text("comment").trim();
  if (comment.length > COMMENT_MAX_LENGTH) {
    errors.comment = `The comment has ${comment.length} characters; the limit is ${COMMENT_MAX_LENGTH}.`;
  }
  return {
    values: { csr, email: email.success ? email.output : typed, profile, comment },
    errors,
  };
}

function submitMain(kit: Kit, c: Context, view: SubmitView): Html {
  const { values, errors = {}, preview, session } = view;
  if (!kit.settings.openSubmission && !session) {
    return html`<h1>Submit a certificate signing request</h1>
${errors.form ? alert("error", errors.form) : ""}
${alert("info", "Submitting needs you to sign in.", html`<a href="/sign-in?next=/">Sign in</a> to submit a CSR: the request is recorded as yours.`)}`;
  }
  if (session && !hasRole(session.principal, "requester", "admin")) {
    return html`<h1>Submit a certificate signing request</h1>
${errors.form ? alert("error", errors.form) : ""}
${alert("info", "Submitting needs the requester role.", `You are signed in as ${session.principal.email ?? session.principal.id} (${session.principal.roles.join(", ") || "no role"}).`)}`;
  }
  const ownEmail = session?.principal.email ?? null;
  const describedBy = (field: Field, hint?: string) => {
    const ids = [hint, errors[field] ? `${field}-error` : undefined].filter(Boolean).join(" ");
    return ids ? html` aria-describedby="${ids}"` : "";
  };
  const invalid = (field: Field) => (errors[field] ? html` aria-invalid="true"` : "");
  const fieldError = (field: Field) =>
    errors[field] ? html`<p class="field-error" id="${field}-error">${errors[field]}</p>` : "";
  const profiles = kit.services.profiles();
  return html`<h1>Submit a certificate signing request</h1>
${errors.form ? alert("error", errors.form) : ""}
${Object.keys(errors).some((k) => k !== "form") ? alert("error", "The request was not submitted. Fix the fields marked below.") : ""}
<form method="post" action="/" enctype="multipart/form-data" class="stack" id="submit-form" novalidate>
${csrfField(kit.csrf.token(c))}
<div class="field">
<label for="csr">CSR (PEM)</label>
<p class="hint" id="csr-hint">Paste the PEM text (<code>-----BEGIN CERTIFICATE REQUEST-----</code>) or choose a PEM or DER file below.</p>
<textarea id="csr" name="csr" rows="10" spellcheck="false" autocomplete="off"${describedBy("csr", "csr-hint")}${invalid("csr")}>${values.csr}</textarea>
${fieldError("csr")}
</div>
<div class="field">
<label for="csrFile">…or a CSR file</label>
<input type="file" id="csrFile" name="csrFile" accept=".csr,.pem,.der,.req,application/pkcs10">
</div>
<section id="csr-preview" class="preview" aria-live="polite" aria-labelledby="csr-preview-heading">
${preview ? previewBlock(preview, values.profile) : ""}
</section>
<div class="field">
<label for="email">Email for notifications${ownEmail ? html` <span class="muted">(optional)</span>` : ""}</label>
<p class="hint" id="email-hint">${ownEmail ? html`Mails about the request go here; empty: to you, ${ownEmail}. The request is recorded as yours either way.` : "Mails about the request, and the certificate, go here."}</p>
<input type="email" id="email" name="email" autocomplete="email"${ownEmail ? "" : html` required`} value="${values.email}"${describedBy("email", "email-hint")}${invalid("email")}>
${fieldError("email")}
</div>
<div class="field">
<label for="profile">Profile</label>
<select id="profile" name="profile" required${describedBy("profile")}${invalid("profile")}>
<option value="">Choose a profile…</option>
${profiles.map((p) => html`<option value="${p.name}"${p.name === values.profile ? html` selected` : ""}>${p.name}: ${p.description}</option>`)}
</select>
${fieldError("profile")}
</div>
<div class="field">
<label for="comment">Comment for the approvers <span class="muted">(optional)</span></label>
<textarea id="comment" name="comment" rows="3" maxlength="${COMMENT_MAX_LENGTH}"${describedBy("comment")}${invalid("comment")}>${values.comment}</textarea>
${fieldError("comment")}
</div>
<div class="actions">
<button type="submit" name="action" value="preview" class="secondary">Preview</button>
<button type="submit" name="action" value="submit">Submit request</button>
</div>
</form>`;
}

function previewBlock(preview: CsrPreview, profile: string): Html {
  const verdict = preview.policy;
  return html`<h2 id="csr-preview-heading">What the CSR contains</h2>
${csrFacts({ ...preview.summary, sha256: preview.summary.sha256 })}
${
  verdict === null
    ? ""
    : verdict.ok
      ? alert("success", `Profile ${profile} accepts this CSR.`)
      : alert("error", `Profile ${profile} will refuse this CSR.`, verdict.message)
}`;
}
