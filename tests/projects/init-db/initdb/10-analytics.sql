-- A second database and a role that owns it, made when the data volume is first initialised.
CREATE ROLE analyst LOGIN PASSWORD 'analyst-dev-password';
CREATE DATABASE analytics OWNER analyst;
