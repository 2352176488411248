"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, on a port the OS picks.

Prints "PORT <n>", then one JSON line per accepted mail (envelope sender, recipients, the
message as received, whether the session authenticated). With USER and PASSWORD arguments
it requires AUTH (without TLS) with exactly those. Exits when its stdin closes.
"""

import asyncio
import json
import logging
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    async def handle_DATA(self, server, session, envelope):
        mail = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "authenticated": bool(session.authenticated),
        }
        print(json.dumps(mail), flush=True)
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    # Plain AUTH without TLS is what the test wants; keep stderr for real failures.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    options = {"hostname": "localhost"}
    if len(sys.argv) == 3:
        options.update(
            authenticator=authenticator(sys.argv[1], sys.argv[2]),
            auth_required=True,
            auth_require_tls=False,
        )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), **options), "127.0.0.1", 0)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
