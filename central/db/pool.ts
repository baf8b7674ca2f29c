import type pg from 'pg';

/**
 * End a pool and wait until its connections are really closed: `pool.end()` resolves when its
 * clients are removed, before they have hung up, and a database stopped right after would cut
 * them off (an "idle connection failed" error on every orderly stop).
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (--open <= 0) resolve();
    });
  });
  await pool.end();
  await closed;
}
