import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { env } from './config';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn', 'log'] });
  app.setGlobalPrefix(env('API_PREFIX', ''));
  app.enableShutdownHooks(); // SIGTERM: stop accepting, finish in-flight requests, then exit
  await app.listen(Number(env('PORT', '3000')), '0.0.0.0');
}
bootstrap();
