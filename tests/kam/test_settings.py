"""Production settings refuse to start without a real SECRET_KEY and pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "x" * 20 + "-kam-test-production-key-" + "y" * 20


def _run(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "KAM_ENV", "SECRET_KEY_FILE"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key", [None, "", "change-me", "django-insecure-abc", "short"])
def test_production_refuses_a_missing_or_default_secret_key(key):
    env = {"KAM_ENV": "production"}
    if key is not None:
        env["SECRET_KEY"] = key
    result = _run(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is missing, a placeholder or shorter than 32 characters" in result.stderr


def test_production_refuses_debug():
    result = _run({"KAM_ENV": "production", "SECRET_KEY": STRONG_KEY, "DEBUG": "true"}, "check")
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text(STRONG_KEY + "\n")
    result = _run({"KAM_ENV": "production", "SECRET_KEY_FILE": str(secret)}, "check")
    assert result.returncode == 0, result.stderr


def test_check_deploy_passes_with_production_settings_and_no_warnings():
    result = _run({"KAM_ENV": "production", "SECRET_KEY": STRONG_KEY}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_bad_boolean_names_the_variable():
    result = _run({"KAM_ENV": "development", "DEBUG": "maybe"}, "check")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_celery_is_eager_only_without_a_broker():
    code = "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER)"
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env["KAM_ENV"] = "development"
    eager = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    env["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/0"
    real = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert eager.stdout.strip().splitlines()[-1] == "True"
    assert real.stdout.strip().splitlines()[-1] == "False"
