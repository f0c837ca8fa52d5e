"""The server as a systemd service: it tells the service manager when it listens and when it
stops (Type=notify), and the unit kept in the repository runs it as the README says."""

from __future__ import annotations

import configparser
import shlex
import socket
from pathlib import Path

from cli.parser import make_parser as _parser
from tests.server.harness import ROOT, Server, make_site

UNIT = ROOT / "deploy" / "flashpool.service"


def test_the_server_tells_the_service_manager_it_is_ready_and_stopping(tmp_path, monkeypatch):
    site = make_site(tmp_path / "site")
    where = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(where))
        manager.settimeout(30)
        monkeypatch.setenv("NOTIFY_SOCKET", str(where))
        server = Server(site).start()
        ready = manager.recv(4096).decode()
        assert ready.startswith("READY=1\n") and f"MAINPID={server.pid}" in ready and "run/flashpool.sock" in ready
        assert server.stop() == 0
        assert manager.recv(4096).decode().startswith("STOPPING=1\n")


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT)
    return unit


def test_the_unit_runs_the_server_as_its_own_user_and_hardened():
    service = _unit()["Service"]
    assert service["Type"] == "notify" and service["User"] == "flashpool" and service["UMask"] == "0077"
    assert service["ProtectSystem"] == "strict" and service["ReadWritePaths"] == "/srv/flashpool"
    assert service["NoNewPrivileges"] == "true" and service["CapabilityBoundingSet"] == ""
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "flashpool"
    args = _parser().parse_args(command[1:])
    assert args.cmd == "serve" and args.site.startswith(service["ReadWritePaths"])


def test_the_set_up_the_unit_describes_is_made_of_real_commands():
    lines = [line[1:].strip() for line in UNIT.read_text().splitlines() if line.startswith("#   ")]
    commands = [shlex.split(line.split("--", 1)[1]) for line in lines if line.startswith("runuser")]
    commands += [shlex.split(line.split("$", 1)[1]) for line in lines if line.startswith("alice$")]
    assert len(commands) >= 4
    for words in commands:
        assert words[0] == "flashpool", words
        _parser().parse_args(words[1:])  # a usage error exits the test
