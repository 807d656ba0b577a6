import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Query, ServiceUnavailableException } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { VERSION } from './config';

@Controller()
export class StopsController {
  constructor(@Inject(DataSource) private readonly db: DataSource,
              @Inject('REDIS') private readonly redis: Redis | null) {}

  @Get('health')
  async health() {
    try {
      await this.db.query('SELECT 1');
      if (this.redis) await this.redis.ping();
    } catch (err) {
      throw new ServiceUnavailableException({ status: 'unhealthy', error: String(err) });
    }
    return { status: 'ok', version: VERSION };
  }

  @Get('version')
  version() {
    return { version: VERSION };
  }

  @Get('stops/near')
  async near(@Query('lat') lat: string, @Query('lon') lon: string, @Query('radius') radius = '2000') {
    const [y, x, r] = [Number(lat), Number(lon), Number(radius)];
    if (![y, x, r].every(Number.isFinite)) throw new BadRequestException('lat, lon and radius must be numbers');
    const key = `near:${y}:${x}:${r}`;
    const cached = this.redis ? await this.redis.get(key) : null;
    if (cached) return { stops: JSON.parse(cached), cached: true };
    const stops = await this.db.query(
      `SELECT id, name, round(ST_Distance(location, ST_MakePoint($2, $1)::geography)) AS meters
         FROM stops WHERE ST_DWithin(location, ST_MakePoint($2, $1)::geography, $3)
        ORDER BY meters LIMIT 50`, [y, x, r]);
    if (this.redis) await this.redis.set(key, JSON.stringify(stops), 'EX', 5);
    return { stops, cached: false };
  }

  @Post('stops')
  @HttpCode(201)
  async create(@Body() body: { name?: string; lat?: number; lon?: number }) {
    if (!body?.name || !Number.isFinite(body.lat) || !Number.isFinite(body.lon)) {
      throw new BadRequestException('name, lat and lon are required');
    }
    const [row] = await this.db.query(
      'INSERT INTO stops (name, location) VALUES ($1, ST_MakePoint($3, $2)::geography) RETURNING id',
      [body.name, body.lat, body.lon]);
    return { id: row.id };
  }
}
