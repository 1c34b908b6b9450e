#!/bin/bash
# Install Pantau LPSE on one Debian server, as root, from the checkout it lives in:
#   sudo deploy/install.sh
# Idempotent: run it again after an upgrade (it migrates the database). It creates the
# service user, the private folders, the env file and the key file (never overwriting
# them), the venv, the database, the crontab and the bot's systemd unit.
# Every path can be overridden (the tests install into a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
PANTAU=$(pwd)
PANTAU_USER=${PANTAU_USER:-pantau}
ENV_FILE=${ENV_FILE:-/etc/pantau-lpse.env}
KEY_FILE=${KEY_FILE:-/etc/pantau-lpse.keys}
DATA=${DATA:-$PANTAU/data}
LOGS=${LOGS:-/var/log/pantau-lpse}
BACKUPS=${BACKUPS:-/var/backups/pantau-lpse}
CRONTAB=${CRONTAB:-install}           # install: the user's crontab; a path: write it there
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
LOGROTATE_DIR=${LOGROTATE_DIR:-/etc/logrotate.d}
as_user() { runuser -u "$PANTAU_USER" -- "$@"; }
step() { echo "== $*"; }

[ "$(id -u)" -eq 0 ] || { echo "run as root (it creates a user and system folders)" >&2; exit 1; }

step "user $PANTAU_USER"
id -u "$PANTAU_USER" >/dev/null 2>&1 || useradd --system --home-dir "$PANTAU" --shell /usr/sbin/nologin "$PANTAU_USER"

step "folders: data $DATA and backups $BACKUPS (0700), logs $LOGS (0750)"
install -d -m 0700 -o "$PANTAU_USER" "$DATA" "$BACKUPS"
install -d -m 0750 -o "$PANTAU_USER" "$LOGS"

step "env file $ENV_FILE (0600, kept if present)"
if [ ! -e "$ENV_FILE" ]; then
  install -m 0600 -o "$PANTAU_USER" .env.example "$ENV_FILE"
  sed -i -e "s|^PANTAU_KEY_FILE=.*|PANTAU_KEY_FILE=$KEY_FILE|" \
    -e "s|^DATABASE_URL=.*|DATABASE_URL=sqlite:///$DATA/pantau.db|" "$ENV_FILE"
fi
chown "$PANTAU_USER" "$ENV_FILE" && chmod 0600 "$ENV_FILE"

step "venv (make setup)"
make --no-print-directory setup
chown -R "$PANTAU_USER" "$PANTAU/.venv"

step "key file $KEY_FILE (0600, kept if present)"
if [ ! -e "$KEY_FILE" ]; then
  (umask 077 && .venv/bin/python -m lpse_crawler.people.crypto "k$(date +%Y)" > "$KEY_FILE")
fi
chown "$PANTAU_USER" "$KEY_FILE" && chmod 0600 "$KEY_FILE"

step "database (db init: creates or migrates, syncs the registry)"
as_user env PANTAU_ENV_FILE="$ENV_FILE" .venv/bin/python cli.py db init

step "crontab"
cron=$(sed -e "s|^PANTAU=.*|PANTAU=$PANTAU|" -e "s|^LOGS=.*|LOGS=$LOGS|" \
  -e "s|^BACKUPS=.*|BACKUPS=$BACKUPS|" -e "s|^PANTAU_ENV_FILE=.*|PANTAU_ENV_FILE=$ENV_FILE|" crontab.example)
if [ "$CRONTAB" = install ]; then
  echo "$cron" | crontab -u "$PANTAU_USER" -
else
  echo "$cron" > "$CRONTAB"
fi

if [ -d "$SYSTEMD_DIR" ]; then
  step "systemd unit pantau-bot.service (start it once TELEGRAM_BOT_TOKEN is set)"
  sed -e "s|/opt/pantau-lpse|$PANTAU|g" -e "s|^User=.*|User=$PANTAU_USER|" \
    -e "s|/etc/pantau-lpse.env|$ENV_FILE|" -e "s|/var/log/pantau-lpse|$LOGS|g" \
    deploy/pantau-bot.service > "$SYSTEMD_DIR/pantau-bot.service"
  command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
fi
if [ -d "$LOGROTATE_DIR" ]; then
  sed "s|/var/log/pantau-lpse|$LOGS|" deploy/logrotate.conf > "$LOGROTATE_DIR/pantau-lpse"
fi
echo "installed. Next: set TELEGRAM_BOT_TOKEN (and SMTP_*, SELLER_*) in $ENV_FILE, then"
echo "  systemctl enable --now pantau-bot"
