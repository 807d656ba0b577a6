import 'reflect-metadata';
import source from './data-source';
import { VERSION } from './config';
import { connectRedis } from './redis';

/** A background worker on the same image: every second it records that it runs, and which release. */
async function main() {
  const db = await source.initialize();
  const redis = connectRedis();
  let stopping = false;
  process.on('SIGTERM', () => { stopping = true; });
  while (!stopping) {
    const [{ count }] = await db.query('SELECT count(*)::int AS count FROM stops');
    if (redis) await redis.set('worker:heartbeat', JSON.stringify({ version: VERSION, stops: count, at: Date.now() }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await db.destroy();
  redis?.disconnect();
}
main().catch((err) => { console.error(err); process.exit(1); });
