"""Every translatable string has a Simplified Chinese translation, and pages render in Chinese.

The catalogues are regenerated from the current sources in a scratch copy (as `make messages`
does), so a new string without a translation fails here, not in front of a user.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "tiering", "service_plans", "reports", "web", "imports", "integrations"]


def _untranslated(po: Path) -> list[str]:
    text = po.read_text(encoding="utf-8")
    missing = []
    for block in text.split("\n\n"):
        if "msgid_plural" in block or 'msgid ""\nmsgstr ""\n"Project' in block:
            continue
        match = re.search(r'msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', block + "\n")
        if not match:
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(1)))
        msgstr = "".join(re.findall(r'"(.*)"', match.group(2)))
        if msgid and (not msgstr or "#, fuzzy" in block):
            missing.append(msgid)
    return missing


def _makemessages(cwd: Path, *extra: str) -> None:
    env = {**os.environ, "KAM_ENV": "development", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "kam.settings"}
    subprocess.run(
        # The django-admin script, not `python -m django`: with the app folder as the working
        # directory, `-m` would put it on sys.path and its selectors.py would shadow the stdlib's.
        [Path(sys.executable).parent / "django-admin", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v0", *extra],
        cwd=cwd, env=env, check=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("app", [*APPS, "root"])
def test_catalogue_is_complete(app, tmp_path):
    if app == "root":
        for name in ("kam", "templates", "locale"):
            shutil.copytree(ROOT / name, tmp_path / name)
        _makemessages(tmp_path)
        po = tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po"
    else:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
        (tmp_path / app / "locale").mkdir(exist_ok=True)
        _makemessages(tmp_path / app)
        po = tmp_path / app / "locale/zh_Hans/LC_MESSAGES/django.po"
    if not po.exists():
        return  # nothing translatable yet
    missing = _untranslated(po)
    assert not missing, f"{len(missing)} strings without a zh_Hans translation in {app}: {missing[:20]}"


@pytest.mark.django_db
def test_home_page_reads_in_chinese(client, account_manager):
    client.force_login(account_manager)
    response = client.get(reverse("home"), headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text
    assert "未来 90 天内的续约" in response.text
    assert "退出登录" in response.text


@pytest.mark.django_db
def test_language_switcher_sets_the_language(client, account_manager):
    client.force_login(account_manager)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "欢迎" in client.get(reverse("home")).text
