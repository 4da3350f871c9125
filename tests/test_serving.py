"""The production setup (nginx from Debian in front of gunicorn with gunicorn.conf.py, the
site file in deploy/) keeps serving while clients hold connections open without sending
anything or trickle their requests in."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import requests

from .conftest import IN_CI
from .servers import ROOT, free_port, gunicorn, processes

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def require_nginx() -> str:
    if not shutil.os.path.exists(NGINX):
        message = "the serving test needs Debian's nginx: apt-get install nginx"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return NGINX


def nginx_config(tmp_path, listen: int, app_port: int) -> str:
    """deploy/nginx-site.conf as shipped, pointed at this test's ports and folders."""
    site = (ROOT / "deploy" / "nginx-site.conf").read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    site = site.replace("/srv/forum/static/", f"{ROOT / 'static'}/")
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir()
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "error.log"};
events {{ worker_connections 512; }}
http {{
    access_log off;
    include /etc/nginx/mime.types;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    {site}
}}
"""


def test_idle_and_slow_clients_do_not_stop_the_site(app, tmp_path):
    nginx = require_nginx()
    app_port, front_port = free_port(), free_port()
    env = {
        "FORUM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FORUM_INSTANCE_PATH": str(tmp_path),
        "FORUM_SEARCH_INDEX": str(tmp_path / "index"),
        "FORUM_WORKERS": "1",  # the harshest case: one app process
        "FORUM_PROXY_COUNT": "1",
    }
    config = tmp_path / "nginx.conf"
    config.write_text(nginx_config(tmp_path, front_port, app_port))
    check = subprocess.run([nginx, "-t", "-c", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    held: list[socket.socket] = []
    with processes() as start:
        gunicorn(start, app_port, env)
        start([nginx, "-c", str(config)], {})
        base = f"http://127.0.0.1:{front_port}"
        for _ in range(50):
            try:
                requests.get(f"{base}/account/login", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        try:
            for _ in range(30):  # connect and say nothing
                held.append(socket.create_connection(("127.0.0.1", front_port)))
            for _ in range(10):  # start a request and never finish it
                slow = socket.create_connection(("127.0.0.1", front_port))
                slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                held.append(slow)
            time.sleep(0.5)
            for _ in range(5):
                began = time.monotonic()
                response = requests.get(f"{base}/account/login", timeout=5)
                assert response.status_code == 200 and "Sign in" in response.text
                assert time.monotonic() - began < 2.0
            css = requests.get(f"{base}/static/css/site.css", timeout=5)
            assert css.status_code == 200 and "--brand" in css.text  # served by nginx
        finally:
            for connection in held:
                connection.close()
