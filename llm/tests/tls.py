"""A raw HTTP/1.1 image server on a loopback address, over TLS with a test authority's certificate or in
the clear, that frames its body as told and records what each connection saw; and a pinned client
that trusts that authority alone.

Raw sockets rather than an ASGI server: the tests need the SNI name, the address a connection reached,
lying or missing Content-Length headers and the moment the client hangs up, none of which an ASGI app
sees.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import httpx
import trustme

from llm.pinning import PinnedBackend, Resolver, build_client

IMAGE_HOST = "images.test"
# The bound on every wait for the other side; reached only when a test is failing.
WAIT_SECONDS = 10.0
# An endless body stops here, so that a client that never stops reading cannot keep a test going.
ENDLESS_LIMIT = 256 * 1024 * 1024
_PIECE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server answers to every request.

    `framing` says how the body's end is told: by a Content-Length (`declared_length`, by default the
    body's own), chunked, or by closing the connection. A declared length longer than the body leaves
    the response unfinished: the server sends the body and waits for the client to hang up, or with
    `close_early` closes the connection itself. `endless` sends zeros after `body` until the client
    hangs up.
    """

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "image/jpeg"),)
    framing: Literal["length", "chunked", "close"] = "length"
    declared_length: int | None = None
    close_early: bool = False
    endless: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    host: str
    accept: str = ""


@dataclass(slots=True)
class Connection:
    """One accepted connection. Read its other fields once `ended` is set."""

    local_address: str
    server_name: str | None = None
    tls_error: str | None = None
    requests: list[Request] = field(default_factory=list)
    body_bytes_sent: int = 0
    # The client went away while a response was still being sent or waited for.
    hung_up: bool = False
    ended: threading.Event = field(default_factory=threading.Event)


class ImageServer:
    """Serves `reply` on `host`:`port` (0: any free port), over TLS when given a certificate; with
    `gate`, each response waits until it is set."""

    def __init__(
        self,
        reply: Reply,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certificate: trustme.LeafCert | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.reply = reply
        # Each response waits for the gate (set by the test), WAIT_SECONDS at most.
        self.gate = gate
        self._tls: ssl.SSLContext | None = None
        if certificate is not None:
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(self._tls)
            # typeshed types the callback for an SSLObject; a wrapped socket's gets the SSLSocket.
            self._tls.sni_callback = self._note_server_name  # type: ignore[assignment]
        self._lock = threading.Lock()
        self._connections: list[Connection] = []
        self._server_names: dict[ssl.SSLSocket, str | None] = {}
        self._open: set[socket.socket] = set()
        self._server = _Server((host, port), self)
        bound_host, self.port = self._server.server_address[:2]
        self.host = str(bound_host)  # an IPv4 server's: always a str
        # A short poll interval only shortens shutdown(); nothing waits on it otherwise.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"image-server-{self.port}",
        )

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            # Wakes a connection thread waiting on the client.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(WAIT_SECONDS)

    def url(self, path: str = "/look.jpg", *, host: str | None = None) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    @property
    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._connections)

    def only_connection(self, *, ended: bool = False) -> Connection:
        """The one connection this server accepted; with `ended`, once it has ended (a refused
        handshake is noted a moment after the client gave up)."""
        [connection] = self.connections
        if ended:
            assert connection.ended.wait(WAIT_SECONDS), "the connection is still open"
        return connection

    def _note_server_name(self, sock: ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext) -> None:
        with self._lock:
            self._server_names[sock] = server_name

    def _serve(self, raw: socket.socket) -> None:
        connection = Connection(local_address=raw.getsockname()[0])
        raw.settimeout(WAIT_SECONDS)
        with self._lock:
            self._connections.append(connection)
            self._open.add(raw)
        sock = raw
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
                try:
                    sock.do_handshake()
                except OSError as error:
                    connection.tls_error = str(error)
                    return
                finally:
                    with self._lock:
                        connection.server_name = self._server_names.pop(sock, None)
            self._serve_requests(sock, connection)
        finally:
            with self._lock:
                self._open.discard(raw)
            with contextlib.suppress(OSError):
                sock.close()
            connection.ended.set()

    def _serve_requests(self, sock: socket.socket, connection: Connection) -> None:
        pending = b""
        while True:
            try:
                request, pending = _read_request(sock, pending)
            except OSError:
                return
            if request is None:
                return
            connection.requests.append(request)
            if self.gate is not None:
                self.gate.wait(WAIT_SECONDS)
            try:
                keep_alive = self._respond(sock, connection)
            except TimeoutError:
                return
            except OSError:
                # Reset, broken pipe or a TLS connection cut short: the client went away mid-response.
                connection.hung_up = True
                return
            if not keep_alive:
                return

    def _respond(self, sock: socket.socket, connection: Connection) -> bool:
        """Sends the reply; whether the connection can carry another request."""
        reply = self.reply
        head = [f"HTTP/1.1 {reply.status} Whatever", *(f"{name}: {value}" for name, value in reply.headers)]
        if reply.framing == "length":
            declared = len(reply.body) if reply.declared_length is None else reply.declared_length
            head.append(f"Content-Length: {declared}")
        elif reply.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
        else:
            head.append("Connection: close")
        sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n")
        for piece in _pieces(reply):
            sock.sendall(_framed(piece, reply.framing))
            connection.body_bytes_sent += len(piece)
        if reply.framing == "chunked":
            sock.sendall(b"0\r\n\r\n")
        if reply.framing == "length" and connection.body_bytes_sent < declared:
            if reply.close_early:
                return False
            # Unfinished: nothing comes until the client gives up and closes.
            if sock.recv(1) == b"":
                connection.hung_up = True
            return False
        return reply.framing != "close"


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    # Room for a page's clients connecting at once (socketserver's backlog is 5).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: ImageServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.owner._serve(self.request)


def _read_request(sock: socket.socket, pending: bytes) -> tuple[Request | None, bytes]:
    """The next request's head (bodies are not expected), or None when the client closed first."""
    while b"\r\n\r\n" not in pending:
        data = sock.recv(_PIECE)
        if not data:
            return None, b""
        pending += data
    head, _, rest = pending.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers = dict(line.split(":", 1) for line in header_lines)
    headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
    request = Request(
        method=method, path=path, host=headers.get("host", ""), accept=headers.get("accept", "")
    )
    return request, rest


def _pieces(reply: Reply) -> Iterator[bytes]:
    for start in range(0, len(reply.body), _PIECE):
        yield reply.body[start:start + _PIECE]
    if reply.endless:
        zeros = bytes(_PIECE)
        for _ in range(ENDLESS_LIMIT // _PIECE):
            yield zeros


def _framed(piece: bytes, framing: str) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece


def trusting(authority: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts `authority` and nothing else, verifying names as usual."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    authority.configure_trust(context)
    return context


def resolve_to(address: str, lookups: list[str] | None = None) -> Resolver:
    """A resolver that answers `address` for every name, noting each name it is asked for."""

    async def resolve(host: str, port: int) -> list[str]:
        if lookups is not None:
            lookups.append(host)
        return [address]

    return resolve


def pinned_client(
    authority: trustme.CA, *, resolve: Resolver | None = None, allowed_address: str = "127.0.0.1"
) -> httpx.AsyncClient:
    """A client whose backend resolves (by default, every name to 127.0.0.1), allows only
    `allowed_address` and connects to it, and whose TLS trusts only `authority`."""
    backend = PinnedBackend(
        resolve=resolve or resolve_to(allowed_address),
        is_allowed_address=lambda address: address == allowed_address,
    )
    return build_client(backend=backend, ssl_context=trusting(authority))
