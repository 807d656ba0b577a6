import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import source from './data-source';
import { connectRedis } from './redis';
import { StopsController } from './stops.controller';

@Module({
  controllers: [StopsController],
  providers: [
    { provide: DataSource, useFactory: async () => (source.isInitialized ? source : source.initialize()) },
    { provide: 'REDIS', useFactory: () => connectRedis() },
  ],
})
export class AppModule {}
