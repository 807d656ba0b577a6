#!/usr/bin/env bash
# Stand-in for the official mariadb entrypoint: same variables, same first-start contract.
set -Eeuo pipefail

file_env() {  # NAME [default]: MARIADB_NAME, else MYSQL_NAME, or the file their _FILE names
  local name="$1" value="${2:-}" var
  for var in "MARIADB_$name" "MYSQL_$name"; do
    local file="${var}_FILE"
    if [ -n "${!var:-}" ]; then value="${!var}"; break; fi
    if [ -n "${!file:-}" ]; then value="$(< "${!file}")"; break; fi
  done
  printf -v "DB_$name" '%s' "$value"
}

if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi

if [ "$1" = 'mariadbd' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p /var/lib/mysql /run/mysqld
  chown -R mysql:mysql /var/lib/mysql /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'mariadbd' ] && [ ! -d /var/lib/mysql/mysql ]; then
  file_env ROOT_PASSWORD; file_env ALLOW_EMPTY_ROOT_PASSWORD; file_env RANDOM_ROOT_PASSWORD
  file_env DATABASE; file_env USER; file_env PASSWORD
  if [ -z "$DB_ROOT_PASSWORD" ] && [ -z "$DB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$DB_RANDOM_ROOT_PASSWORD" ]; then
    echo "error: database is uninitialized and MARIADB_ROOT_PASSWORD is not set" >&2
    echo "  (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MARIADB_RANDOM_ROOT_PASSWORD)" >&2
    exit 1
  fi
  if [ -n "$DB_RANDOM_ROOT_PASSWORD" ]; then
    DB_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
    echo "GENERATED ROOT PASSWORD: $DB_ROOT_PASSWORD"
  fi
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null
  # Initialise on the socket only, so nothing outside sees a half-made database.
  mariadbd --skip-networking --socket=/run/mysqld/init.sock --datadir=/var/lib/mysql &
  pid=$!
  for _ in $(seq 1 60); do mariadb-admin --socket=/run/mysqld/init.sock -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
  sql=(mariadb --socket=/run/mysqld/init.sock -uroot)
  quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")"; }
  {
    echo "DELETE FROM mysql.global_priv WHERE User = '' OR Host NOT IN ('localhost');"
    echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD($(quote "$DB_ROOT_PASSWORD"));"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $(quote "$DB_ROOT_PASSWORD");"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$DB_DATABASE" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$DB_DATABASE\`;"; fi
    if [ -n "$DB_USER" ] && [ -n "$DB_PASSWORD" ]; then
      echo "CREATE USER $(quote "$DB_USER")@'%' IDENTIFIED BY $(quote "$DB_PASSWORD");"
      if [ -n "$DB_DATABASE" ]; then echo "GRANT ALL ON \`$DB_DATABASE\`.* TO $(quote "$DB_USER")@'%';"; fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | "${sql[@]}"
  export MYSQL_PWD="$DB_ROOT_PASSWORD"  # the client reads it from its environment, never argv
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) "${sql[@]}" ${DB_DATABASE:+"$DB_DATABASE"} < "$f" ;;
      *.sql.gz) gunzip -c "$f" | "${sql[@]}" ${DB_DATABASE:+"$DB_DATABASE"} ;;
      *) [ -e "$f" ] && echo "ignoring $f" ;;
    esac
  done
  unset MYSQL_PWD
  kill "$pid"; wait "$pid" || true
  echo "MariaDB init process done. Ready for start up."
fi

exec "$@"
