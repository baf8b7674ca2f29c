import { readFileSync } from 'node:fs';
import type { Env } from '../../lib/env.ts';
import type { CentralOptions } from '../central.ts';

/** SMS, e-mail and push settings of the central, from its environment. */
export function notifyFromEnv(env: Env): NonNullable<CentralOptions['notify']> {
  return {
    smppUrl: env.VIGIL_SMPP_URL,
    smsSource: env.VIGIL_SMS_SOURCE,
    smtpUrl: env.VIGIL_SMTP_URL,
    mailFrom: env.VIGIL_MAIL_FROM,
    pushSubject: env.VIGIL_PUSH_SUBJECT,
    pushCa: env.VIGIL_PUSH_CA ? readFileSync(env.VIGIL_PUSH_CA, 'utf8') : undefined,
  };
}
