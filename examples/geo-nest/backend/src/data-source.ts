import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { env } from './config';

/** The TypeORM data source: the app and `npm run migration:run` share it. */
export default new DataSource({
  type: 'postgres',
  host: env('DB_HOST', 'postgres'),
  port: Number(env('DB_PORT', '5432')),
  username: env('DB_USER', 'geo'),
  password: env('DB_PASSWORD'),
  database: env('DB_NAME', 'geo'),
  migrations: [__dirname + '/migrations/*.js'],
  migrationsTransactionMode: 'each',
});
