// @ts-check
/* The pages' one script: progressive enhancement only. Every page works without it; with it,
   the CSR preview follows the text box and the file picker, a request page follows its status,
   and a form is not sent twice by a double click. No inline script: the CSP is 'self'. */

const PREVIEW_DELAY_MS = 400;
const POLL_MS = 2000;

/** @param {string} tag @param {string} [text] @param {string} [className] */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** DER bytes as the PEM the text box expects. @param {Uint8Array} der */
function derToPem(der) {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
}

/**
 * @typedef {{ type: string, value: string }} San
 * @typedef {{ subject: string, sans: San[], key: string, sha256: string }} Summary
 * @typedef {{ ok: true } | { ok: false, code: string, message: string } | null} Verdict
 */

/** @param {HTMLElement} box @param {Summary} summary @param {Verdict} policy @param {string} profile */
function showPreview(box, summary, policy, profile) {
  box.replaceChildren(element("h2", "What the CSR contains"));
  box.querySelector("h2")?.setAttribute("id", "csr-preview-heading");
  const facts = element("dl", undefined, "facts");
  /** @param {string} term @param {Node | string} description */
  const add = (term, description) => {
    facts.append(element("dt", term));
    const dd = element("dd");
    dd.append(description);
    facts.append(dd);
  };
  add("Subject", summary.subject || "empty");
  const sans = element("ul", undefined, "sans");
  for (const san of summary.sans) {
    const item = element("li");
    item.append(element("span", san.type.toUpperCase(), "san-type"), ` ${san.value}`);
    sans.append(item);
  }
  add("Subject alternative names", summary.sans.length ? sans : "none");
  add("Key", summary.key);
  add(
    "CSR SHA-256",
    element("code", (summary.sha256.toUpperCase().match(/../g) ?? []).join(":"), "fingerprint"),
  );
  box.append(facts);
  if (policy) {
    const alert = element(
      "div",
      undefined,
      policy.ok ? "alert alert-success" : "alert alert-error",
    );
    alert.append(
      element(
        "p",
        policy.ok
          ? `Profile ${profile} accepts this CSR.`
          : `Profile ${profile} will refuse this CSR.`,
        "alert-title",
      ),
    );
    if (!policy.ok) alert.append(element("p", policy.message));
    box.append(alert);
  }
}

/** @param {HTMLElement} box @param {string} message */
function showPreviewError(box, message) {
  const alert = element("div", undefined, "alert alert-error");
  alert.append(
    element("p", "This is not a CSR the CA can read.", "alert-title"),
    element("p", message),
  );
  box.replaceChildren(alert);
}

function enhanceSubmitForm() {
  const form = document.getElementById("submit-form");
  const csr = /** @type {HTMLTextAreaElement | null} */ (document.getElementById("csr"));
  const file = /** @type {HTMLInputElement | null} */ (document.getElementById("csrFile"));
  const box = document.getElementById("csr-preview");
  const profile = /** @type {HTMLSelectElement | null} */ (document.getElementById("profile"));
  const email = /** @type {HTMLInputElement | null} */ (document.getElementById("email"));
  if (!form || !csr || !file || !box || !profile || !email) return;

  let timer = 0;
  let sequence = 0;
  const preview = async () => {
    const text = csr.value.trim();
    if (!text) {
      box.replaceChildren();
      return;
    }
    const mine = ++sequence;
    try {
      const response = await fetch("/csr/preview", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ csr: text, profile: profile.value, email: email.value }),
      });
      const body = await response.json();
      if (mine !== sequence) return; // a newer preview is on its way
      if (response.ok) showPreview(box, body.summary, body.policy, profile.value);
      else showPreviewError(box, body.message ?? `The preview failed (${response.status}).`);
    } catch {
      if (mine === sequence) showPreviewError(box, "The preview could not reach the server.");
    }
  };
  const soon = () => {
    clearTimeout(timer);
    timer = window.setTimeout(preview, PREVIEW_DELAY_MS);
  };
  csr.addEventListener("input", soon);
  profile.addEventListener("change", preview);
  email.addEventListener("change", preview);

  // A chosen file goes into the text box (DER as PEM), so what is previewed is what is sent.
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    const text = new TextDecoder("latin1").decode(bytes);
    csr.value = text.includes("-----BEGIN") ? text.trim() : derToPem(bytes);
    file.value = "";
    await preview();
  });
}

function followStatus() {
  const line = /** @type {HTMLElement | null} */ (document.querySelector("[data-poll]"));
  const url = line?.dataset.poll;
  if (!line || !url) return;
  const shown = line.dataset.status;
  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { accept: "application/json" } });
      if (response.ok) {
        const { status } = await response.json();
        if (status !== shown) {
          window.location.reload();
          return;
        }
      }
    } catch {
      // Offline for a moment: keep trying.
    }
    window.setTimeout(poll, POLL_MS);
  };
  window.setTimeout(poll, POLL_MS);
}

function guardDoubleSubmit() {
  for (const form of document.querySelectorAll("form[method='post']")) {
    form.addEventListener("submit", (event) => {
      const f = /** @type {HTMLFormElement} */ (form);
      if (f.dataset.sent) event.preventDefault();
      else f.dataset.sent = "1";
    });
  }
  // Back to a page from the cache: its forms may be sent again.
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form")) delete form.dataset.sent;
  });
}

enhanceSubmitForm();
followStatus();
guardDoubleSubmit();
