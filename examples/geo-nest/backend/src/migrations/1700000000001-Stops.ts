import { MigrationInterface, QueryRunner } from 'typeorm';

export class Stops1700000000001 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await q.query(`CREATE TABLE stops (
      id serial PRIMARY KEY,
      name text NOT NULL,
      location geography(Point, 4326) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
    await q.query('CREATE INDEX stops_location_gist ON stops USING gist (location)');
    await q.query(`INSERT INTO stops (name, location) VALUES
      ('Alexanderplatz', ST_MakePoint(13.4132, 52.5219)::geography),
      ('Brandenburger Tor', ST_MakePoint(13.3777, 52.5163)::geography),
      ('Hauptbahnhof', ST_MakePoint(13.3695, 52.5251)::geography)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE stops');
  }
}
