/**
 * Whether a URI recorded on the ledger by another party may become a link in this console: only
 * http(s). Any other scheme (`javascript:`, `data:`, `file:`) is shown as text, never followed,
 * since spec-service accepts any syntactically valid URI.
 */
export function isWebLink(uri: string): boolean {
  return /^https?:\/\/[^\s]/i.test(uri);
}
