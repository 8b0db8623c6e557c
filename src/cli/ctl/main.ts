// `warren ctl`: rabbitmqctl's commands, flags, output and exit codes, spoken to a running warren
// over its management API (TCP with Basic auth, or the local Unix socket trusted as an admin).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from './api-client.js';
import type { Command, CtlContext } from './command.js';
import { accessCommands } from './commands/access.js';
import { nodeCommands } from './commands/node.js';
import { objectCommands } from './commands/objects.js';
import { policyCommandList } from './commands/policies.js';
import { CtlError, EXIT, usage } from './errors.js';
import { Output, type Formatter } from './format.js';

export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [...objectCommands, ...accessCommands, ...policyCommandList, ...nodeCommands].map((c) => [c.name, c]),
);
/** rabbitmqctl's alternative names. */
const ALIASES: Readonly<Record<string, string>> = { wait: 'await_startup' };

/** Value-taking options; the short forms are rabbitmqctl's. */
const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  '-p': 'vhost', '--vhost': 'vhost', '-t': 'timeout', '--timeout': 'timeout', '--formatter': 'formatter', '-n': 'node', '--node': 'node',
  '--url': 'url', '--socket': 'socket', '--username': 'username', '--password': 'password', '--data-dir': 'data-dir',
  '--priority': 'priority', '--apply-to': 'apply-to', '--description': 'description', '--tags': 'tags',
  '--default-queue-type': 'default-queue-type', '--user': 'user',
};
const FLAG_OPTIONS: Readonly<Record<string, string>> = {
  '-q': 'quiet', '--quiet': 'quiet', '-s': 'silent', '--silent': 'silent', '--no-table-headers': 'no-table-headers',
  '-e': 'if-empty', '--if-empty': 'if-empty', '-u': 'if-unused', '--if-unused': 'if-unused',
  '-l': 'longnames', '--longnames': 'longnames', '--online': 'online', '--offline': 'offline', '--local': 'local',
};

export interface CtlIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
}

interface Parsed {
  readonly command: string | undefined;
  readonly args: string[];
  readonly options: Map<string, string | true>;
}

function parse(argv: readonly string[]): Parsed {
  const options = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const valueOpt = VALUE_OPTIONS[name];
    if (valueOpt !== undefined) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw usage(`Error (argument validation): option ${name} needs a value`);
      options.set(valueOpt, v);
      continue;
    }
    const flagOpt = FLAG_OPTIONS[name];
    if (flagOpt !== undefined) {
      options.set(flagOpt, true);
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && a !== '-') throw usage(`Error: invalid option ${a}`);
    positional.push(a);
  }
  return { command: positional[0], args: positional.slice(1), options };
}

function helpText(cmd?: Command): string {
  if (cmd !== undefined) return `Usage\n\nwarren ctl [--vhost <vhost>] [--quiet] ${cmd.name} ${cmd.usage}\n`;
  const names = [...COMMANDS.keys()].sort();
  return `Usage\n\nwarren ctl [--url <url> | --socket <path>] [--username <u> --password <p>] [--vhost <vhost>] [--timeout <seconds>] [--quiet] [--silent] [--formatter table|json|csv] <command> [<command options>]\n\nAvailable commands:\n\n${names.map((n) => `   ${n}`).join('\n')}\n`;
}

/** Runs one ctl invocation and returns its exit code; all output goes through `io`. */
export async function runCtl(argv: readonly string[], io: CtlIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    if (err instanceof CtlError) return io.stderr(`${err.message}\n`), err.code;
    throw err;
  }
  const { options } = parsed;
  const name = parsed.command === undefined ? undefined : (ALIASES[parsed.command] ?? parsed.command);
  if (name === undefined || name === 'help') {
    const target = parsed.args[0] === undefined ? undefined : COMMANDS.get(parsed.args[0]);
    io.stdout(helpText(target));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const cmd = COMMANDS.get(name);
  if (cmd === undefined) {
    io.stderr(`\nCommand '${name}' not found. \n\n${helpText()}`);
    return EXIT.usage;
  }
  const [min, max] = cmd.args;
  if (parsed.args.length < min || parsed.args.length > max) {
    io.stderr(`Error (argument validation): ${parsed.args.length < min ? 'not enough' : 'too many'} arguments.\nArguments given:\n\t${[name, ...parsed.args].join(' ')}\n\n${helpText(cmd)}`);
    return EXIT.usage;
  }
  const formatter = String(options.get('formatter') ?? 'table');
  if (formatter !== 'table' && formatter !== 'json' && formatter !== 'csv') {
    io.stderr(`Error (argument validation): formatter must be one of table, json, csv\n`);
    return EXIT.usage;
  }
  const timeoutS = Number(options.get('timeout') ?? 60);
  if (!(timeoutS > 0)) {
    io.stderr('Error (argument validation): timeout must be a positive number of seconds\n');
    return EXIT.usage;
  }
  const out = new Output({
    formatter: formatter as Formatter,
    quiet: options.has('quiet'),
    silent: options.has('silent'),
    tableHeaders: !options.has('no-table-headers'),
  });
  const socketPath = resolveSocket(options, io);
  const api = new ApiClient({
    url: String(options.get('url') ?? io.env.WARREN_CTL_URL ?? 'http://127.0.0.1:15672'),
    socketPath,
    username: String(options.get('username') ?? io.env.WARREN_CTL_USERNAME ?? 'guest'),
    password: String(options.get('password') ?? io.env.WARREN_CTL_PASSWORD ?? 'guest'),
    timeoutMs: timeoutS * 1000,
  });
  const ctx: CtlContext = {
    api,
    out,
    vhost: String(options.get('vhost') ?? '/'),
    options,
    timeoutMs: timeoutS * 1000,
    progress: (text) => io.stderr(`${text}\n`),
  };
  try {
    const code = await cmd.run(ctx, parsed.args);
    io.stdout(out.text());
    return code ?? EXIT.ok;
  } catch (err) {
    io.stdout(out.text());
    if (err instanceof CtlError) {
      io.stderr(`${err.message}\n`);
      return err.code;
    }
    io.stderr(`Error:\n${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.software;
  }
}

/**
 * The admin socket: --socket, WARREN_CTL_SOCKET, or `ctl.sock` in the data dir (--data-dir,
 * WARREN_DATA_DIR, ./data as `npm start` uses) when it exists and no URL was asked for.
 */
function resolveSocket(options: ReadonlyMap<string, string | true>, io: CtlIo): string | undefined {
  const explicit = options.get('socket') ?? io.env.WARREN_CTL_SOCKET;
  if (typeof explicit === 'string') return explicit;
  if (options.has('url') || io.env.WARREN_CTL_URL !== undefined || options.has('username')) return undefined;
  const dataDir = options.get('data-dir') ?? io.env.WARREN_DATA_DIR ?? join(io.cwd, 'data');
  const candidate = join(String(dataDir), CTL_SOCKET_NAME);
  return existsSync(candidate) ? candidate : undefined;
}

/** The management server's admin socket in the data dir. */
export const CTL_SOCKET_NAME = 'ctl.sock';
