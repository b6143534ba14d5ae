/**
 * Which Python runs the `authorizer` reference. The comparison asked for is Debian's
 * python3-cryptography, which only Debian's own interpreter imports, so /usr/bin/python3 comes
 * first; python3 on PATH (often a pyenv or venv with cryptography from pip) is the fallback.
 * The bench prints what it found, since the figures differ between cryptography versions.
 */
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";

export const PYTHON_CRYPTOGRAPHY_INSTALL = "apt-get install -y python3-cryptography";

/** Tried in order; the first that imports cryptography is measured. */
export const PYTHON_CANDIDATES = ["/usr/bin/python3", "python3"] as const;

export interface PythonCryptography {
  /** The candidate that imported cryptography, as tried. */
  readonly candidate: string;
  /** Its sys.executable: what the bench runs, so a pyenv shim is resolved once, here. */
  readonly executable: string;
  readonly pythonVersion: string;
  /** cryptography.__version__ */
  readonly version: string;
  /** The folder cryptography was imported from. */
  readonly location: string;
  /** The Debian package that installed it ("python3-cryptography"), or undefined for pip. */
  readonly debianPackage: string | undefined;
}

const PROBE = [
  "import json, platform, sys, cryptography",
  "print(json.dumps({'python': platform.python_version(), 'executable': sys.executable,",
  "  'version': cryptography.__version__, 'file': cryptography.__file__}))",
].join("\n");

/** The first candidate with cryptography, or undefined when none has it. */
export function findPythonCryptography(): PythonCryptography | undefined {
  for (const candidate of PYTHON_CANDIDATES) {
    const found = probe(candidate);
    if (found) return found;
  }
  return undefined;
}

/** E.g. "Python 3.11.2 /usr/bin/python3, cryptography 38.0.4 (Debian python3-cryptography)". */
export function describePythonCryptography(python: PythonCryptography): string {
  const source = python.debianPackage
    ? `Debian ${python.debianPackage}`
    : `not a Debian package: ${python.location}`;
  return `Python ${python.pythonVersion} ${python.executable}, cryptography ${python.version} (${source})`;
}

function probe(candidate: string): PythonCryptography | undefined {
  const result = spawnSync(candidate, ["-c", PROBE], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  const found = JSON.parse(result.stdout) as {
    python: string;
    executable: string;
    version: string;
    file: string;
  };
  return {
    candidate,
    executable: found.executable || candidate,
    pythonVersion: found.python,
    version: found.version,
    location: dirname(found.file),
    debianPackage: debianPackageOf(found.file),
  };
}

/** dpkg's owner of `file` ("python3-cryptography:amd64: /usr/...", arch optional), if any. */
function debianPackageOf(file: string): string | undefined {
  const result = spawnSync("dpkg-query", ["-S", file], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  return result.stdout.split(":")[0]?.trim() || undefined;
}
