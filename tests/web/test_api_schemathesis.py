"""schemathesis against the OpenAPI document: no generated input makes the API answer 5xx.

The API runs with a real Temporal dev server and posventa's worker, so the operations that hand
work to workflows (start a lifecycle, report a fault, cancel, draft and approve plans) are
exercised for real; a missing workflow is a 409, never a crash.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.engine import Engine

from posventa.config import Settings
from tests.web.conftest import make_app
from tests.web.factories import make_world
from tests.web.test_api import token_for

MAX_EXAMPLES = 25


@pytest.mark.slow
def test_no_generated_input_gets_a_server_error(
    sqlite_engine: Engine, temporal_with_worker: tuple[str, Settings]
) -> None:
    address, cfg = temporal_with_worker
    world = make_world(sqlite_engine)
    app = make_app(cfg, sqlite_engine, temporal_address=address, PLAN_MAX_SECONDS=1.0,
                   BOARD_DRAFT_WAIT=20.0)  # fmt: skip
    headers = {"Authorization": f"Bearer {token_for(sqlite_engine, world.users['admin'])}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tested = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case) -> None:  # type: ignore[no-untyped-def]
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            check()
            tested.append(operation.label)
    finally:
        gateway = app.extensions.get("posventa.workflows")
        if gateway is not None:
            gateway.close()
    assert len(tested) == 17, tested
    assert "POST /sales/{sale_id}/visits/{visit_id}/decision" in tested
