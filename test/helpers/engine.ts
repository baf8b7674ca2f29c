import { ProcedureEngine } from '../../central/procedures/engine.ts';
import { SiteProfileSchema } from '../../central/procedures/simulate.ts';

/** A procedure engine knowing these sites: each activated, a premises phone and one keyholder. */
export function engineWithSites(siteIds: readonly string[] = ['site-a']): ProcedureEngine {
  const engine = new ProcedureEngine();
  for (const id of siteIds)
    engine.setSite(
      SiteProfileSchema.parse({
        id,
        name: 'Test site',
        activatedAt: '2026-01-01T00:00:00Z',
        premisesPhone: '+31201110000',
        contacts: [{ id: 'k1', name: 'Kees', role: 'keyholder', order: 1, phone: '+31600000011' }],
      }) as never,
    );
  return engine;
}
