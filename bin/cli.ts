import { errorMessage } from '../lib/errors.ts';
import { USAGE } from './usage.ts';

/**
 * The `vigil` command. Each command loads only its own modules: a gateway on a Raspberry Pi never
 * loads the central's database, broker or mail code.
 */
const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  demo: async () => (await import('./commands/demo.ts')).demo(),
  central: async (args) => (await import('./commands/central.ts')).central(args),
  cluster: async (args) => (await import('./commands/cluster.ts')).cluster(args),
  gateway: async (args) => (await import('./commands/gateway.ts')).gateway(args),
  sim: async (args) => (await import('./commands/local.ts')).sim(args),
  panel: async (args) => (await import('./commands/local.ts')).panel(args),
  installer: async (args) => (await import('./commands/local.ts')).installer(args),
};

/** Runs one command; on failure prints the cause and sets a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  try {
    if (!command || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const run = COMMANDS[command];
    if (!run) throw new Error(`unknown command "${command}"\n\n${USAGE}`);
    await run(args);
  } catch (error) {
    process.stderr.write(`vigil: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  }
}
