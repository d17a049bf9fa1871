/**
 * The error catalogue: every error Healwatch reports to a user has a code here, a message the user can
 * act on, and an entry in docs/errors.md (a test checks that both agree).
 */
export const ERROR_CODES = {
  HW_ERR_USAGE: 'A command was called with missing or invalid arguments.',
  HW_ERR_CONFIG_INVALID:
    'The configuration file does not validate; the message names the file, line and field.',
  HW_ERR_KUBECONFIG_INVALID:
    'The kubeconfig is missing, unreadable, or names no usable context, cluster or server.',
  HW_ERR_CLUSTER_UNREACHABLE:
    'The Kubernetes API server could not be reached, refused the credentials, or answered with an error.',
  HW_ERR_SIM_SCENARIO_INVALID:
    'A simulator scenario file does not validate; the message names the file, line and field.',
  HW_ERR_STORE:
    'The Healwatch database (`--data DIR`) could not be opened, read or written: unreadable, not a database, locked, or written by a newer Healwatch.',
  HW_ERR_SIM_LISTEN: 'The simulator could not listen on the requested address and port.',
  HW_ERR_SIM_UNREACHABLE: 'A `healwatch sim` subcommand could not reach a running simulator.',
  HW_ERR_SIM_FAULT_REJECTED:
    'The simulator rejected a fault: unknown name, bad target or bad argument; the message lists what exists.',
} as const;

/** One code of the error catalogue. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a catalogue code and a message a user can act on. */
export class HealwatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The process exit code the CLI uses for it (2 for usage errors, 1 otherwise). */
    readonly exitCode = code === 'HW_ERR_USAGE' ? 2 : 1,
  ) {
    super(message);
    this.name = 'HealwatchError';
  }
}
