"""Network namespaces as 'hosts' on this machine, for the multi-host worker test and benchmark.

Each namespace gets a veth pair to the host (10.231.N.2 inside, 10.231.N.1 on the host side) and a
default route through it, so it reaches every address the host owns except loopback. PostgreSQL
listens on 127.0.0.1 only, so a small TCP forwarder on each host-side address passes connections
on to it; the feed farm listens on extra host-side addresses."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Sequence


def netns_unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing"
    probe = f"ndprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` fails: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Hosts:
    """`count` namespaces; `farm_addresses` extra host-side addresses for feed servers."""

    def __init__(self, count: int, farm_addresses: int = 0) -> None:
        tag = uuid.uuid4().hex[:5]
        self.names: list[str] = []
        self.host_side: list[str] = []
        self._links: list[str] = []
        self.farm: list[str] = []
        try:
            for n in range(1, count + 1):
                ns, outside, inside = f"nd{tag}{n}", f"ndh{tag}{n}", f"ndn{tag}{n}"
                _ip("netns", "add", ns)
                self.names.append(ns)
                _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                self._links.append(outside)
                _ip("link", "set", inside, "netns", ns)
                _ip("addr", "add", f"10.231.{n}.1/24", "dev", outside)
                _ip("link", "set", outside, "up")
                _ip("-n", ns, "addr", "add", f"10.231.{n}.2/24", "dev", inside)
                _ip("-n", ns, "link", "set", inside, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "route", "add", "default", "via", f"10.231.{n}.1")
                self.host_side.append(f"10.231.{n}.1")
            for k in range(farm_addresses):
                address = f"10.231.1.{11 + k}"
                _ip("addr", "add", f"{address}/32", "dev", self._links[0])
                self.farm.append(address)
        except BaseException:
            self.close()
            raise

    def prefix(self, n: int) -> Sequence[str]:
        return ["ip", "netns", "exec", self.names[n]]

    def close(self) -> None:
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for link in self._links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)


class Forwarder:
    """TCP from (address, port) to target, one thread per direction of each connection."""

    def __init__(self, addresses: Sequence[str], target: tuple[str, int]) -> None:
        self.target = target
        self.listeners = []
        self.port = 0
        for address in addresses:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, self.port))
            self.port = sock.getsockname()[1]
            sock.listen(64)
            self.listeners.append(sock)
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for sock in self.listeners:
            sock.close()
