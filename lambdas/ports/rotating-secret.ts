/**
 * A secret that Secrets Manager rotates in steps: a new version is put under AWSPENDING, tested, then
 * made AWSCURRENT. The rotation function sees the secret through this.
 */
export interface RotatingSecret {
  /** Each version's staging labels, by version id. */
  versions(): Promise<Record<string, string[]>>;
  /** The value (parsed JSON) of the current version, or of the pending one with this version id. */
  current(): Promise<unknown>;
  pending(versionId: string): Promise<unknown | undefined>;
  /** Puts the value as the pending version with this id. */
  putPending(versionId: string, value: unknown): Promise<void>;
  /** Moves AWSCURRENT from the version `from` to the version `to`. */
  makeCurrent(to: string, from: string | undefined): Promise<void>;
}
