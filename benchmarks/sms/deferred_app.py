"""The web app with SMS hand-offs switched off: the webhook alone (for ``--defer-answers``).

Messages are stored exactly as in production; the load generator hands them off afterwards
with :meth:`sms.inbound.InboundPipeline.process_pending`, so integrity is still checked.
"""

from __future__ import annotations

from flask import Flask

from web import create_app
from web.blueprints.sms import services


def create_app_deferred() -> Flask:
    app = create_app()
    runner = services(app).runner
    runner.submit = lambda message_id: None  # type: ignore[method-assign,assignment,return-value]
    runner.stopping.set()  # and no periodic sweep
    return app
