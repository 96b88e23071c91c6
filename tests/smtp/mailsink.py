#!/usr/bin/env python3
"""SMTP sink for the end-to-end mail tests of the Wohnungserhalt Hub (aiosmtpd, pinned in
tests/python/requirements.txt; install with scripts/ensure-venv.sh).

    python mailsink.py --port P --dir D [--tls-cert C --tls-key K] [--auth USER:PASS]
                       [--reject SUBSTR] [--tempfail SUBSTR] [--delay-ms N]

Listens on 127.0.0.1:P (P = 0 picks a free port) and prints exactly "READY <port>" to stdout once it
accepts connections. Exits with status 0 on SIGTERM or SIGINT.

  --tls-cert/--tls-key  offer STARTTLS and require it before MAIL (530 otherwise)
  --auth USER:PASS      require AUTH PLAIN or LOGIN with these credentials before MAIL (after STARTTLS
                        when TLS is configured)
  --reject SUBSTR       RCPT TO whose address contains SUBSTR -> "550 5.1.1 mailbox unavailable"
  --tempfail SUBSTR     RCPT TO whose address contains SUBSTR -> "451 4.3.0 try again later"
                        (both may be given more than once; --reject is checked first)
  --delay-ms N          answer each message's DATA only after N milliseconds, like a busy server
                        (each connection waits on its own; other connections go on meanwhile)

Each accepted message becomes one file D/<NNNNNN>.json (NNNNNN = arrival number, so the names sort in
arrival order), written to a hidden temporary file first and then renamed, so a reader never sees a
half-written file. Keys:
  message_id     Message-ID header ("" if none)
  from           envelope sender (MAIL FROM)
  to             envelope recipients that were accepted (RCPT TO), in order
  subject        Subject header, RFC 2047-decoded ("" if none)
  text, html     the decoded text/plain and text/html body parts, LF line ends ("" if absent)
  raw            the whole message as received, CRLF line ends (UTF-8, undecodable bytes replaced)
  tls            whether the session had switched to TLS (STARTTLS)
  authenticated  whether the session had authenticated (AUTH)
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import re
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

REJECT_REPLY = "550 5.1.1 mailbox unavailable"
TEMPFAIL_REPLY = "451 4.3.0 try again later"
FILE_NAME = re.compile(r"^(\d+)\.json$")


def body_part(msg, subtype):
    """The decoded body part of the given text subtype with LF line ends, or "" if there is none."""
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        # Unknown charset or broken transfer encoding: the best decoding there is.
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return content.replace("\r\n", "\n")


class Sink:
    """aiosmtpd handler: filters recipients and stores each accepted message as a JSON file."""

    def __init__(self, directory, reject, tempfail, delay_ms=0):
        self.directory = directory
        self.delay = delay_ms / 1000
        self.reject = reject
        self.tempfail = tempfail
        # Continue the numbering of files already there (a sink restarted on the same directory).
        numbers = [int(m.group(1)) for m in map(FILE_NAME.match, os.listdir(directory)) if m]
        self.next_number = max(numbers, default=0) + 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if any(s in address for s in self.reject):
            return REJECT_REPLY
        if any(s in address for s in self.tempfail):
            return TEMPFAIL_REPLY
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "message_id": str(msg.get("message-id", "")).strip(),
            "from": envelope.mail_from or "",
            "to": list(envelope.rcpt_tos),
            "subject": str(msg.get("subject", "")),
            "text": body_part(msg, "plain"),
            "html": body_part(msg, "html"),
            "raw": raw.decode("utf-8", errors="replace"),
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }
        number = self.next_number
        self.next_number += 1
        name = f"{number:06d}.json"
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
        os.replace(tmp, os.path.join(self.directory, name))
        return "250 2.0.0 Message accepted for delivery"


def authenticator_for(user, password):
    """An aiosmtpd authenticator accepting exactly these credentials (PLAIN and LOGIN)."""
    expected = LoginPassword(user.encode(), password.encode())

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == expected
        return AuthResult(success=ok, handled=False)

    return authenticate


def parse_args(argv):
    p = argparse.ArgumentParser(description="SMTP sink writing each message as a JSON file.")
    p.add_argument("--port", type=int, required=True, help="port on 127.0.0.1; 0 picks a free one")
    p.add_argument("--dir", required=True, help="directory for the message files (must exist)")
    p.add_argument("--tls-cert", help="PEM certificate chain: offer and require STARTTLS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--auth", metavar="USER:PASS", help="require AUTH PLAIN/LOGIN with these credentials")
    p.add_argument("--reject", action="append", default=[], metavar="SUBSTR", help="550 for matching RCPT TO")
    p.add_argument("--tempfail", action="append", default=[], metavar="SUBSTR", help="451 for matching RCPT TO")
    p.add_argument("--delay-ms", type=int, default=0, metavar="N", help="answer DATA after N milliseconds")
    args = p.parse_args(argv)
    if args.delay_ms < 0:
        p.error("--delay-ms must not be negative")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.auth is not None and ":" not in args.auth:
        p.error("--auth takes USER:PASS")
    if not os.path.isdir(args.dir):
        p.error(f"--dir {args.dir} is not a directory")
    return args


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = Sink(args.dir, args.reject, args.tempfail, args.delay_ms)
    smtp_kwargs = {"hostname": "mailsink.test", "ident": "hub-test mailsink"}
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        smtp_kwargs.update(tls_context=tls, require_starttls=True)
    if args.auth is not None:
        user, password = args.auth.split(":", 1)
        smtp_kwargs.update(
            authenticator=authenticator_for(user, password),
            auth_required=True,
            auth_require_tls=bool(args.tls_cert),
        )

    server = await loop.create_server(lambda: SMTP(handler, loop=loop, **smtp_kwargs), host="127.0.0.1", port=args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv):
    logging.basicConfig(level=logging.WARNING, format="mailsink %(levelname)s %(name)s: %(message)s")
    # AUTH without TLS is what a test sink may want, and aiosmtpd reads its own deprecated login_data on
    # every AUTH: both would log a warning per connection.
    noise = ("auth_require_tls", "login_data is deprecated")
    logging.getLogger("mail.log").addFilter(lambda r: not any(n in r.getMessage() for n in noise))
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    args = parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
