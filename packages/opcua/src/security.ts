/** Current OPC UA security policies (Part 7); the deprecated Basic128Rsa15/Basic256 are not offered. */
export const SECURE_POLICIES = ['Basic256Sha256', 'Aes256_Sha256_RsaPss', 'Aes128_Sha256_RsaOaep'] as const;
export type SecurePolicy = (typeof SECURE_POLICIES)[number];

export interface UserCredentials {
  readonly username: string;
  readonly password: string;
}
