// rabbitmqctl's exit codes (sysexits.h), so scripts written for it branch the same way.

export const EXIT = {
  ok: 0,
  usage: 64,
  dataErr: 65,
  noUser: 67,
  noPerm: 77,
  unavailable: 69,
  software: 70,
  tempfail: 75,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with the exit code and the text rabbitmqctl would print. */
export class CtlError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CtlError';
  }
}

export function usage(text: string): CtlError {
  return new CtlError(EXIT.usage, text);
}
