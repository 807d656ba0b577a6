"""Single-host production deploys: lock, release, rollout, rollback, audit."""
