import { readEnv } from '../../lib/env.ts';
import { createLogger } from '../../lib/logger.ts';
import { DEMO_OPERATOR, startDemo } from '../demo.ts';
import { stopOnSignal } from '../signals.ts';

export async function demo(): Promise<void> {
  const logger = createLogger('vigil', process.env.VIGIL_LOG_LEVEL ?? 'warn');
  const env = readEnv();
  const running = await startDemo(env, logger);
  stopOnSignal(logger, () => running.stop());
  // Ready means the gateway reports to the central: wait for its link (a loaded machine can take a while).
  const deadline = Date.now() + 60_000;
  while (!running.gateway.gateway.uplinkConnected && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const link = running.gateway.gateway.uplinkConnected
    ? ''
    : '\n  The gateway is not connected to the central yet; it keeps trying (see the log).\n';
  const port = env.VIGIL_GATEWAY_HTTP_PORT;
  const urlFlag = port === 8081 ? '' : ` --url ${running.gateway.localApiUrl}`;
  // The arming state survives restarts: say what it is now, not what it was on first start.
  const areas = Object.values(running.gateway.gateway.panel.areas)
    .map((a) => (a.phase === 'disarmed' ? 'disarmed' : `armed ${a.mode}`))
    .join(', ');
  process.stdout.write(`
Vigil demo is running.

  Operator console:   ${running.central.httpUrl}/console
      user ${DEMO_OPERATOR}   password ${running.operatorPassword}
  Customer portal:    ${running.central.httpUrl}/portal      user resident   password ${running.portalPassword}
  Installer portal:   ${running.central.httpUrl}/installer   user installer  password ${running.portalPassword}
  Homeowner panel:    ${running.gateway.localApiUrl}/panel   (on the gateway; works without the central)
  Simulated devices:  ${running.gateway.localApiUrl}/demo
      resident code ${running.codes.user} (duress ${running.codes.duress})   installer code ${running.codes.installer}
      contacts: ${running.keyholders.map((k) => `${k.name} ID ${k.idCode} PIN ${k.pin}`).join('; ')}
      the house is ${areas} now; the front door has a 15 s entry delay
  Trigger from a shell:
      npm run vigil -- sim trigger hall-pir${urlFlag}
      npm run vigil -- sim devices${urlFlag}

${link}
Press Ctrl-C to stop.
`);
}
