/**
 * The SES stand-in's mails, kept in the data folder. aws-ses-v2-local holds what it was sent
 * in memory only, so a restart (or a crash) emptied the mail viewer, and with it the approval
 * links not yet followed. Each mail is written to `<data>/mail/` as the stand-in accepts it,
 * before SES answers the sender, and loaded back at start; the viewer's "clear" clears both.
 *
 * The stand-in keeps one store per process (a module singleton), as the local service runs one
 * stand-in per process.
 */
import { readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { readJson, writeAtomic } from "@spca/core/store/files";

interface StoredEmail {
  readonly messageId: string;
  /** Epoch seconds. */
  readonly at: number;
}

interface SesStoreModule {
  saveEmail(email: StoredEmail): void;
  clearStore(): void;
  getStoreReadonly(): { emails: StoredEmail[] };
}

const require = createRequire(import.meta.url);
// The compiled module calls its own exports at call time, `(0, store_1.saveEmail)(…)`, so
// replacing them here is what the stand-in's routes call.
const store = require("aws-ses-v2-local/dist/store.js") as SesStoreModule;
const { saveEmail, clearStore } = store;

/** Where mails go now: the last folder given to keepMailbox in this process. */
let mailbox: { folder: string; sequence: number } | undefined;

store.saveEmail = (email) => {
  if (mailbox) {
    const id = String(email.messageId).replace(/[^A-Za-z0-9._-]/g, "_");
    const name = `${String(mailbox.sequence++).padStart(10, "0")}-${id}.json`;
    writeAtomic(join(mailbox.folder, name), JSON.stringify(email));
  }
  saveEmail(email);
};
store.clearStore = () => {
  if (mailbox) {
    for (const name of readdirSync(mailbox.folder))
      rmSync(join(mailbox.folder, name), { force: true });
  }
  clearStore();
};

/** Keeps the stand-in's mails in `folder` from now on, starting with those already there. */
export function keepMailbox(folder: string): void {
  const saved = readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort();
  const emails = store.getStoreReadonly().emails;
  emails.splice(0, emails.length);
  for (const name of saved) {
    const email = readJson<StoredEmail>(join(folder, name));
    if (email) emails.push(email);
  }
  const last = saved.length === 0 ? -1 : Number.parseInt(saved.at(-1)!, 10);
  mailbox = { folder, sequence: Number.isNaN(last) ? saved.length : last + 1 };
}
