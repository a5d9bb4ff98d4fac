"""``python manage.py create_api_token <username> [--scope read|write] [--expires-days N] [--name NAME]``

Prints the new key once; only its keyed hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.models import TokenScope
from integrations.tokens import DEFAULT_EXPIRY_DAYS, token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown this once only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        parser.add_argument("--expires-days", type=int, default=DEFAULT_EXPIRY_DAYS)
        parser.add_argument("--name", default="", help="What the token is for (default: created from the command line).")

    def handle(self, *args: Any, username: str, scope: str, expires_days: int, name: str, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        try:
            token, key = token_create(user=user, name=name or "command line", scope=scope, expires_days=expires_days)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())) from None
        self.stderr.write(
            f"Token {token.prefix}… ({token.scope}) for {username}, expires {token.expires_at:%Y-%m-%d}. Shown once:"
        )
        self.stdout.write(key)
