"""gunicorn.conf.py: its settings come from the environment variables the README lists, and
two instances on one host never share gunicorn's control socket."""

from __future__ import annotations

from pathlib import Path

import pytest
from gunicorn.app.base import Application

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


class ConfigOnly(Application):
    """gunicorn's own configuration loading, from our file only (no command line)."""

    def init(self, parser, opts, args) -> None:
        return None

    def load_config(self) -> None:
        self.load_config_from_file(str(CONF))

    def load(self):
        return None


def settings(monkeypatch, **env: str):
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_CONTROL_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ConfigOnly().cfg


def test_bind_and_workers_come_from_the_environment(monkeypatch):
    cfg = settings(monkeypatch, GUNICORN_BIND="127.0.0.1:9000", GUNICORN_WORKERS="3")

    assert (cfg.bind, cfg.workers) == (["127.0.0.1:9000"], 3)


def test_by_default_it_listens_on_port_8000_with_four_workers(monkeypatch):
    cfg = settings(monkeypatch)

    assert (cfg.bind, cfg.workers) == (["0.0.0.0:8000"], 4)


def test_the_shared_control_socket_is_off_by_default(monkeypatch):
    cfg = settings(monkeypatch)

    assert cfg.control_socket_disable is True


def test_an_instance_may_have_a_control_socket_of_its_own(monkeypatch, tmp_path):
    path = str(tmp_path / "web-1.ctl")

    cfg = settings(monkeypatch, GUNICORN_CONTROL_SOCKET=path)

    assert cfg.control_socket_disable is False
    assert cfg.control_socket == path


@pytest.mark.parametrize("name", ["GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_CONTROL_SOCKET"])
def test_each_setting_is_documented_in_the_readme(name):
    readme = (CONF.parent / "README.md").read_text()

    assert f"`{name}`" in readme
