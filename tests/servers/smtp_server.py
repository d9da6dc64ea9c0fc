#!/usr/bin/env python3
"""An SMTP server for the connector tests (Debian's python3-aiosmtpd).

Usage: smtp_server.py OUTDIR [CERT KEY]. Accepts AUTH for mailer/pw, offers
STARTTLS when given a certificate, writes every message it receives to
OUTDIR/<n>.json ({mail_from, rcpt_tos, data}) and prints "READY <port>".
"""
import asyncio
import itertools
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

outdir = sys.argv[1]
counter = itertools.count(1)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = next(counter)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "auth": session.authenticated,
            "tls": session.ssl is not None,
        }
        tmp = os.path.join(outdir, "%d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(outdir, "%d.json" % n))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer" and auth_data.password == b"pw"
    # handled=False: aiosmtpd then answers 535 itself (with handled it says nothing).
    return AuthResult(success=ok, handled=False)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    kwargs = {"authenticator": authenticator, "auth_require_tls": False}
    if len(sys.argv) > 3:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        kwargs["tls_context"] = ctx
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
