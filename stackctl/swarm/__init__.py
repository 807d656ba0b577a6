"""The same stack on Docker Swarm (`--target swarm`): the user's compose files and roles, deployed
as a swarm stack in dependency order, each wave gated on swarm's own view of health.

stackfile: the compose model turned into a stack file, as data (pure). gate: what swarm's
services and tasks say, read as pending / ready / failed (pure). deploy, status, down: the
executors. The swarm is reached through stackctl.engine (SDK) and `docker stack` (stack_command).
"""
