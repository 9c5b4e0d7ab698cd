"""A maintenance contract renewed or shortened while its lifecycle runs (time-skipping server,
real database): the lifecycle plans the rounds of the contract as it now stands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain import lifecycle
from domain.db import session_scope
from domain.models import AuditEntry, Sale, Visit
from posventa.config import Settings
from tests.workflows.support import Driver, make_company, open_visits, running_worker, start_sale
from workflows import contracts as c


def maintenance_done(engine: Engine, sale_id: int) -> int:
    with session_scope(engine) as s:
        visits = s.exec(
            select(Visit).where(Visit.sale_id == sale_id, Visit.kind == "maintenance")
        ).all()
        return sum(1 for v in visits if v.status == "completed")


async def drive_until(driver: Driver, sale_id: int, done: Callable[[], bool]) -> None:
    """Play everyone (as ``Driver.run``) until ``done()``, checked after every step."""
    for _ in range(500):
        if done():
            return
        if await driver.act(sale_id):
            await asyncio.sleep(0.02)
            continue
        await asyncio.sleep(0.05)
        if not await driver.act(sale_id) and not done():
            busy = bool(open_visits(driver.engine, sale_id))
            await driver.env.sleep(timedelta(hours=12) if busy else timedelta(days=5))
    raise AssertionError("never got there")


def run_contract_change(
    engine: Engine,
    wf_settings: Settings,
    test_server_path: str,
    months: int,
    new_months: int,
    after_rounds: int,
) -> tuple[c.ChangeContractResult, list[int], date, str]:
    """A sale whose product is serviced every 180 days, under warranty for 24 months, its
    contract changed to ``new_months`` once ``after_rounds`` rounds are done; the update's
    result, the maintenance rounds done by the end, the sale day and how the sale ended."""

    async def scenario() -> tuple[c.ChangeContractResult, list[int], date, str]:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server_path
        ) as env:
            sold_on = (await env.get_current_time()).date()
            ids = make_company(engine, sold_on=sold_on, trainings=0, installation=False,
                               contract_months=months, warranty_months=24)  # fmt: skip
            sale_id = ids["sale"]
            async with running_worker(env.client, wf_settings, engine):
                handle = await start_sale(env.client, wf_settings, sale_id)
                driver = Driver(env, engine, ids["staff"], answer_survey=False)
                await drive_until(
                    driver, sale_id, lambda: maintenance_done(engine, sale_id) == after_rounds
                )
                result = await handle.execute_update(
                    c.CHANGE_CONTRACT_UPDATE,
                    c.ChangeContractInput(contract_months=new_months, requested_by="ana@x.es"),
                    result_type=c.ChangeContractResult,
                )
                await driver.run(sale_id)
                ended = await handle.result()
        with session_scope(engine) as s:
            rounds = [
                v.sequence
                for v in s.exec(select(Visit).where(Visit.sale_id == sale_id).order_by(Visit.id))
                if v.kind == "maintenance" and v.status == "completed"
            ]
            sale = s.get(Sale, sale_id)
            assert sale is not None and sale.contract_months == new_months
            audit = s.exec(select(AuditEntry).where(AuditEntry.action == "sale.contract")).one()
            assert (audit.actor, audit.details) == (
                "ana@x.es", {"contract_months": [months, new_months]}
            )  # fmt: skip
        return result, rounds, sold_on, ended.status

    return asyncio.run(scenario())


def test_a_contract_renewed_after_its_last_round_gets_the_new_rounds(
    engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    """12 months: rounds on days 180 and 360; renewed to 24 months while the lifecycle waits
    for the warranty's end: rounds 3 and 4 (days 540 and 720) follow."""
    result, rounds, sold_on, status = run_contract_change(
        engine, wf_settings, test_server_path, months=12, new_months=24, after_rounds=2
    )
    ends = lifecycle.lifecycle_end(sold_on, 24, 24)
    assert (result.contract_months, result.maintenance_rounds, result.ends_on) == (
        24, 4, ends.isoformat()
    )  # fmt: skip
    assert rounds == [1, 2, 3, 4] and status == "completed"


def test_a_contract_shortened_while_waiting_drops_the_rounds_it_no_longer_has(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    """60 months (ten rounds) shortened to 7 after the first: the second round (day 360) is
    past the new end and never comes."""
    result, rounds, _sold_on, status = run_contract_change(
        sqlite_engine, wf_settings, test_server_path, months=60, new_months=7, after_rounds=1
    )
    assert (result.contract_months, result.maintenance_rounds) == (7, 1)
    assert rounds == [1] and status == "completed"


def test_a_contract_change_that_cannot_be_is_refused_before_anything_changes(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def scenario() -> list[str]:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server_path
        ) as env:
            sold_on = (await env.get_current_time()).date() - timedelta(days=100)
            ids = make_company(sqlite_engine, sold_on=sold_on, contract_months=12)
            async with running_worker(env.client, wf_settings, sqlite_engine):
                handle = await start_sale(env.client, wf_settings, ids["sale"])
                refusals = []
                for months in (241, 2):  # too long; ended a month ago
                    with pytest.raises(WorkflowUpdateFailedError) as caught:
                        await handle.execute_update(
                            c.CHANGE_CONTRACT_UPDATE, c.ChangeContractInput(contract_months=months)
                        )
                    refusals.append(str(caught.value.cause))
                await handle.terminate("test over")
        with session_scope(sqlite_engine) as s:
            sale = s.get(Sale, ids["sale"])
            assert sale is not None and sale.contract_months == 12
        return refusals

    too_long, ended = asyncio.run(scenario())
    assert "0 to 240 months" in too_long
    assert "2-month contract ended on" in ended and "cancel the sale instead" in ended


def test_a_sale_date_corrected_while_waiting_moves_the_rounds_still_to_come(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    """Sold today by the books, 100 days earlier in truth; serviced every 180 days for 12
    months. Corrected while the lifecycle waits for the first round: that round comes on day
    80 of the books (180 from the true date) instead of day 180, and the after-sales ends 100
    days earlier. A date in the future is refused before anything changes."""
    engine = sqlite_engine

    async def scenario() -> tuple[date, c.CorrectSoldOnResult, list[date], str]:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server_path
        ) as env:
            booked = (await env.get_current_time()).date()
            ids = make_company(engine, sold_on=booked, trainings=0, installation=False,
                               contract_months=12, warranty_months=12)  # fmt: skip
            sale_id = ids["sale"]
            async with running_worker(env.client, wf_settings, engine):
                handle = await start_sale(env.client, wf_settings, sale_id)
                driver = Driver(env, engine, ids["staff"], answer_survey=False)
                await env.sleep(timedelta(days=10))  # waiting for round 1 (due on day 180)
                with pytest.raises(WorkflowUpdateFailedError):
                    await handle.execute_update(
                        c.CORRECT_SOLD_ON_UPDATE,
                        c.CorrectSoldOnInput(sold_on=(booked + timedelta(days=30)).isoformat()),
                        result_type=c.CorrectSoldOnResult,
                    )
                result = await handle.execute_update(
                    c.CORRECT_SOLD_ON_UPDATE,
                    c.CorrectSoldOnInput(
                        sold_on=(booked - timedelta(days=100)).isoformat(), requested_by="ana@x.es"
                    ),
                    result_type=c.CorrectSoldOnResult,
                )
                await driver.run(sale_id)
                ended = await handle.result()
        with session_scope(engine) as s:
            due = [
                v.earliest_date
                for v in s.exec(select(Visit).where(Visit.sale_id == sale_id).order_by(Visit.id))
                if v.kind == "maintenance"
            ]
        return booked, result, due, ended.status

    booked, result, earliest, status = asyncio.run(scenario())
    true_date = booked - timedelta(days=100)
    assert (result.sold_on, result.maintenance_rounds) == (true_date.isoformat(), 2)
    assert result.ends_on == lifecycle.lifecycle_end(true_date, 12, 12).isoformat()
    # each round is asked for from a week before it is due (180 and 360 days from the true date)
    assert earliest[:2] == [true_date + timedelta(days=173), true_date + timedelta(days=353)]
    assert status == "completed"
