import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Stand-ins for libgpiod's tools, as executables: gpiomon replays lines appended to `events`
 * (a line `EXIT` makes it die), gpioget prints `initial`, gpioset logs its arguments and holds.
 */
export function gpioStubs(dir: string, version: '1.6.3' | '2.1.3') {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file('events'), '');
  writeFileSync(file('initial'), '0 0\n');
  const script = (name: string, body: string) => {
    writeFileSync(file(name), `#!/bin/bash\n${body}\n`);
    chmodSync(file(name), 0o755);
  };
  script(
    'gpiomon',
    `if [ "$1" = "--version" ]; then echo "gpiomon (libgpiod) v${version}"; exit 0; fi
start=$(wc -l < "${file('events')}")
echo "$@" > "${file('gpiomon.args')}"
tail -n +$((start + 1)) -f "${file('events')}" | while IFS= read -r line; do
  if [ "$line" = "EXIT" ]; then echo "chip went away" >&2; exit 3; fi
  echo "$line"
done
exit 3`,
  );
  script('gpioget', `echo "$@" > "${file('gpioget.args')}"\ncat "${file('initial')}"`);
  script('gpioset', `echo "$@" >> "${file('gpioset.log')}"\nexec sleep 1000`);
  return {
    dir,
    edge: (line: string) => appendFileSync(file('events'), `${line}\n`),
    setInitial: (levels: string) => writeFileSync(file('initial'), `${levels}\n`),
    read: (name: string) => {
      try {
        return readFileSync(file(name), 'utf8');
      } catch {
        return '';
      }
    },
  };
}
