import { readFileSync } from 'fs';

/** A variable, or the contents of the file NAME_FILE names (compose secrets in production). */
export function env(name: string, fallback = ''): string {
  const file = process.env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').trim();
  return process.env[name] ?? fallback;
}

export const VERSION = '1.0.0';
