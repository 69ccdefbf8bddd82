import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';
import { OpcUaConfigInvalidError } from './errors.js';

/** An application instance certificate (OPC UA Part 6 6.2.2) with its key, as files. */
export interface ApplicationCertificate {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  /** The URI in the certificate's subjectAltName; the application must present the same one. */
  readonly applicationUri: string;
}

export interface EnsureCertificateInit {
  /** The PKI folder (node-opcua layout: own/, trusted/, rejected/, issuers/). */
  readonly pkiDir: string;
  readonly applicationUri: string;
  /** Common name of the subject. */
  readonly commonName: string;
  /** Host names the certificate is valid for (servers: the host clients dial). */
  readonly dns?: readonly string[];
  /** Validity in days (default 730). */
  readonly validityDays?: number;
}

const OWN_CERT = join('own', 'certs', 'certificate.pem');

/**
 * Returns the application certificate of `pkiDir`, creating a self-signed one (with a fresh
 * RSA key in own/private) on first use. Idempotent: an existing certificate is kept, so the
 * copies the other side trusts stay valid across restarts.
 */
export async function ensureApplicationCertificate(init: EnsureCertificateInit): Promise<ApplicationCertificate> {
  const cm = new OPCUACertificateManager({ rootFolder: init.pkiDir, automaticallyAcceptUnknownCertificate: false });
  try {
    await cm.initialize();
    const certificateFile = join(cm.rootDir, OWN_CERT);
    if (!existsSync(certificateFile)) {
      await cm.createSelfSignedCertificate({
        outputFile: certificateFile,
        applicationUri: init.applicationUri,
        subject: `/CN=${init.commonName}/O=TwinLedger`,
        dns: [...(init.dns ?? ['localhost'])],
        startDate: new Date(Date.now() - 60_000),
        validity: init.validityDays ?? 730,
      });
    }
    return { certificateFile, privateKeyFile: cm.privateKey, applicationUri: init.applicationUri };
  } finally {
    await cm.dispose();
  }
}

/** Reads a certificate file (PEM or DER) into DER; a file that is neither is a config error. */
export async function readCertificateDer(file: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw new OpcUaConfigInvalidError(`cannot read certificate ${file}`, { cause: err, details: { file } });
  }
  try {
    return new X509Certificate(raw).raw;
  } catch (err) {
    throw new OpcUaConfigInvalidError(`${file} is not an X.509 certificate (PEM or DER)`, { cause: err, details: { file } });
  }
}

/** SHA-1 thumbprint, lower-case hex: how OPC UA names certificates (trusted/certs, logs). */
export function thumbprintOf(der: Buffer): string {
  return new X509Certificate(der).fingerprint.replaceAll(':', '').toLowerCase();
}

/**
 * Makes `certificateManager`'s trust list exactly `certificateFiles`: every certificate trusted
 * earlier (a previous configuration, one accepted by hand) is dropped first, so what the
 * operator configured is all that is trusted. Returns the thumbprints trusted.
 */
export async function trustExactly(certificateManager: OPCUACertificateManager, certificateFiles: readonly string[]): Promise<string[]> {
  const ders = await Promise.all(certificateFiles.map(readCertificateDer));
  // Cleared before the manager indexes the folder: it keeps an in-memory index, and a
  // certificate it indexed as trusted would not be written again after a later delete.
  const folder = join(certificateManager.rootDir, 'trusted', 'certs');
  await mkdir(folder, { recursive: true });
  for (const f of await readdir(folder)) await rm(join(folder, f), { force: true });
  await certificateManager.initialize();
  for (const der of ders) await certificateManager.trustCertificate(der);
  return ders.map(thumbprintOf);
}

/**
 * Reads the agent's OPC UA user credentials: a JSON file `{"username": "...", "password": "..."}`
 * (a mounted secret). Kept out of the environment so it does not show in process listings.
 */
export async function readUserCredentials(file: string): Promise<{ username: string; password: string }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new OpcUaConfigInvalidError(`OPC UA user file ${file} is unreadable or not JSON`, { cause: err, details: { file } });
  }
  const o = json as { username?: unknown; password?: unknown } | null;
  if (typeof o !== 'object' || o === null || typeof o.username !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(o.username) || typeof o.password !== 'string' || o.password.length < 12 || o.password.length > 1024) {
    throw new OpcUaConfigInvalidError(`OPC UA user file ${file} must hold {"username": printable 1..128 chars, "password": 12..1024 chars}`, { details: { file } });
  }
  return { username: o.username, password: o.password };
}
