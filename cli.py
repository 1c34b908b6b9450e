"""Pantau LPSE operators' CLI: `python cli.py --help`.

Personal data needs the encryption key (PANTAU_KEYS or PANTAU_KEY_FILE); every command that
reveals or changes it is audited without personal data. DATABASE_URL selects the database.
Settings come from the environment and the env file (PANTAU_ENV_FILE, default .env).
"""

import logging

import click

from lpse_crawler import config
from lpse_crawler.cli.audit import audit
from lpse_crawler.cli.database import db, keys
from lpse_crawler.cli.instances import instances
from lpse_crawler.cli.operations import crawl, purge
from lpse_crawler.cli.outbox import broadcast, outbox
from lpse_crawler.cli.payments import payments
from lpse_crawler.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log diagnostics to stderr.")
def cli(verbose):
    """Run Pantau LPSE: users and their data rights, keys, payments, instances, outbox, crawl.

    Example: python cli.py users export budi@cvmaju.co.id -o budi.json
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        config.load_env_file()
        config.check_all()
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


for command in (db, users, keys, payments, instances, outbox, broadcast, crawl, purge, audit):
    cli.add_command(command)

if __name__ == "__main__":
    cli()
