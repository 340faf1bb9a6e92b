/**
 * The configuration table: systems (`SYSTEM#<id>` / `SYSTEM`), system interfaces (`INTERFACE#<id>` /
 * `INTERFACE`) and the systems' limit state (`SYSTEM#<id>` / `SLOT#<n>` and `RATE`). The index lists
 * systems (`listKind = SYSTEMS`) and one system's interfaces (`listKind = INTERFACES#<systemId>`).
 */
export const CONFIGURATION_BY_KIND = 'configurationByKind';
