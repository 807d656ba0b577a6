import Redis from 'ioredis';
import { env } from './config';

/** The cache, when the stack has one (REDIS_HOST set); its password is optional. */
export function connectRedis(): Redis | null {
  const host = env('REDIS_HOST');
  if (!host) return null;
  return new Redis({ host, port: Number(env('REDIS_PORT', '6379')), password: env('REDIS_PASSWORD') || undefined,
    lazyConnect: false, maxRetriesPerRequest: 1 });
}
