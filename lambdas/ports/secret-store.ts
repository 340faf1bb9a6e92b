/** The credentials of auth profiles (AWS Secrets Manager on AWS, the git-ignored secrets file locally). */
export interface SecretStore {
  /** The profile's secret as a JSON object; throws an Error that names the profile, never a value. */
  credentials(profileId: string): Promise<Record<string, unknown>>;
}
