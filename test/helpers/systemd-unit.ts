// The systemd unit's Environment= settings, for the harnesses that start the agent as the unit
// does (the soak, the Debian package test): its memory depends on them.

/** Every `Environment=KEY=VALUE ...` line of a unit file, as one map (unquoted words only, as
 *  our unit writes them). */
export function unitEnvironment(unitText: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const match of unitText.matchAll(/^Environment=(.*)$/gm)) {
    for (const assignment of match[1]!.trim().split(/\s+/)) {
      const equals = assignment.indexOf('=');
      if (equals > 0) environment[assignment.slice(0, equals)] = assignment.slice(equals + 1);
    }
  }
  return environment;
}
