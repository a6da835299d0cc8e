"""A throwaway RabbitMQ node on a simulated host: its own node name, data, logs and epmd (the host's network is
its own, so ports 4369, 5672 and 25672 are free there). Starts in ~6 s on this machine under load."""

import shutil
import socket
import tempfile
from pathlib import Path

from kombu import Connection

from tests.hosts.network import Host
from tests.services import Process, wait_until

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
PORT = 5672


class RabbitMQ:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.dir = Path(tempfile.mkdtemp(prefix="hosts-rabbitmq-"))
        # guest may connect from other hosts: the network is private to the test.
        (self.dir / "rabbitmq.conf").write_text(f"loopback_users = none\nlisteners.tcp.1 = {host.address}:{PORT}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        shutil.chown(self.dir, "rabbitmq", "rabbitmq")
        for path in self.dir.iterdir():
            shutil.chown(path, "rabbitmq", "rabbitmq")
        self.proc: Process | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{self.host.address}:{PORT}//"

    def start(self) -> None:
        env = {
            "HOME": str(self.dir),  # its Erlang cookie
            "RABBITMQ_NODENAME": "rabbit@localhost",
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        }
        argv = self.host.wrap(["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items()),
                               SERVER])
        self.proc = Process("rabbitmq", argv, env).start()
        wait_until(self._accepts, timeout=90, interval=0.25, message="throwaway rabbitmq")

    def _accepts(self) -> bool:
        def connects() -> bool:
            try:
                with socket.create_connection((self.host.address, PORT), timeout=1):
                    return True
            except OSError:
                return False

        assert self.proc is not None
        if not self.proc.alive():
            raise AssertionError(f"rabbitmq exited:\n{self.proc.log()[-3000:]}")
        return self.host.call(connects)

    def ready_messages(self, queue: str, client: Host) -> int:
        """Messages waiting in the queue, not counting those a worker holds unacknowledged."""
        def declare() -> int:
            with Connection(self.url, connect_timeout=5) as conn:
                return int(conn.default_channel.queue_declare(queue=queue, passive=True).message_count)

        return client.call(declare)

    def destroy(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc.log_path.unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)
