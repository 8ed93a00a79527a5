"""The server over TLS with a self-signed certificate."""

from __future__ import annotations

import asyncio
import ssl

from protocol import Hello, Message, Say, encode
from tests.conftest import TlsFiles
from tests.server.helpers import close_all, serving, still_open, sync
from tests.wire import WireClient


def client_context(files: TlsFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(files.cert))


async def test_tls_client_is_welcomed_and_chats(tls_files: TlsFiles) -> None:
    async with serving(tls_cert=str(tls_files.cert), tls_key=str(tls_files.key)) as server:
        tls = client_context(tls_files)
        alice = await WireClient.connect(server.port, tls=tls)
        bob = await WireClient.connect(server.port, tls=tls)
        assert (await alice.hello("alice")).nick == "alice"
        assert (await bob.hello("bob")).nick == "bob"
        await alice.join("secure")
        await bob.join("secure")
        await sync(alice)
        await alice.send(Say(room="secure", text="over tls"))
        assert (await bob.expect(Message)).text == "over tls"
        assert (await alice.expect(Message)).text == "over tls"
        await still_open(bob)
        await close_all([alice, bob])


async def test_plain_tcp_client_gets_no_welcome_from_a_tls_server(tls_files: TlsFiles) -> None:
    async with serving(tls_cert=str(tls_files.cert), tls_key=str(tls_files.key)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(Hello(nick="plain", protocol=1)))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), 5)
        assert b"welcome" not in data
        writer.close()
        # The TLS server keeps serving TLS clients afterwards.
        client = await WireClient.connect(server.port, tls=client_context(tls_files))
        assert (await client.hello("after")).nick == "after"
        await client.close()


async def test_tls_server_presents_the_configured_certificate(tls_files: TlsFiles) -> None:
    async with serving(tls_cert=str(tls_files.cert), tls_key=str(tls_files.key)) as server:
        client = await WireClient.connect(server.port, tls=client_context(tls_files))
        ssl_object = client.writer.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        expected = ssl.PEM_cert_to_DER_cert(tls_files.cert.read_text())
        assert ssl_object.getpeercert(binary_form=True) == expected
        await client.close()
