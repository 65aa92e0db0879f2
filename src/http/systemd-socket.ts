// --web.systemd-socket: the sockets systemd passes to a socket-activated service (sd_listen_fds(3)
// protocol). systemd opens them as fds 3, 4, ... in the child, and sets LISTEN_FDS (how many) and
// LISTEN_PID (the pid they are meant for: a process that inherited the variables from its parent
// must not take the fds, which are its parent's). Kept free of imports: the CLI checks this before
// it loads the HTTP stack, so a misconfigured unit fails at once with exit 1.

/** SD_LISTEN_FDS_START: the first passed fd; 0, 1 and 2 stay stdin, stdout and stderr. */
export const LISTEN_FDS_START = 3;

/** exporter-toolkit's words, so that searches for the Go exporters' error find ours too. */
export const NO_ACTIVATION_SOCKETS = 'no socket activation file descriptors found';

/** The variables of the protocol; taken out of the environment once read, as sd_listen_fds(1) does. */
export const ACTIVATION_VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;

export type ActivationSockets = { readonly ok: true; readonly fds: readonly number[] } | { readonly ok: false; readonly message: string };

/**
 * The fds systemd passed to process `pid`, judged as go-systemd's activation.Files() does
 * (LISTEN_PID must name this process, LISTEN_FDS must be a positive count); when there are none,
 * exporter-toolkit's error plus which variable is wrong, since that is what the operator must fix.
 */
export function activationSockets(env: NodeJS.ProcessEnv, pid: number): ActivationSockets {
  const listenPid = env['LISTEN_PID'];
  const listenFds = env['LISTEN_FDS'];
  const none = (why: string): ActivationSockets => ({ ok: false, message: `${NO_ACTIVATION_SOCKETS} (${why})` });
  if (listenPid === undefined || listenFds === undefined) {
    return none(
      'LISTEN_PID and LISTEN_FDS are not set: --web.systemd-socket needs a socket unit such as promdrop.socket ' +
        'that starts this service, or remove the flag to listen on --web.listen-address',
    );
  }
  if (!/^\d+$/.test(listenPid) || Number(listenPid) !== pid) {
    return none(`LISTEN_PID is ${JSON.stringify(listenPid)}, not this process (${pid}): the sockets were meant for another process`);
  }
  if (!/^\d+$/.test(listenFds) || Number(listenFds) < 1 || !Number.isSafeInteger(Number(listenFds))) {
    return none(`LISTEN_FDS is ${JSON.stringify(listenFds)}, expected a count of at least 1`);
  }
  const count = Number(listenFds);
  return { ok: true, fds: Array.from({ length: count }, (_, index) => LISTEN_FDS_START + index) };
}
