"""Replay the recorded histories (tests/workflows/histories/) against today's workflow code.

A change that breaks determinism fails here before it can break running lifecycles; a change
guarded by ``workflow.patched`` replays cleanly. Record new histories with
``python -m tests.workflows.record_histories``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from workflows import contracts as c
from workflows.visit import VisitWorkflow
from workflows.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_workflow_has_recorded_histories() -> None:
    names = {p.name.split("-run")[0] for p in HISTORIES}
    assert {
        "sale-full",
        "sale-returned",
        "sale-failed-visit",
        "visit-conversation",
        "planning-day",
        "sale-contract",
        "sale-sold-on",
        "housekeeping",
    } <= names
    assert any(p.name.startswith("sale-full-run2") for p in HISTORIES)  # a continued-as-new run


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_history_replays(path: Path) -> None:
    asyncio.run(Replayer(workflows=WORKFLOWS).replay_workflow(_history(path)))


@workflow.defn(name=c.VISIT_WORKFLOW)
class VisitWithNewFirstStep(VisitWorkflow):
    """An incompatible change: a new timer before anything else."""

    @workflow.run
    async def run(self, data: c.VisitWorkflowInput) -> c.VisitResult:
        await workflow.sleep(1)
        return await super().run(data)


@workflow.defn(name=c.VISIT_WORKFLOW)
class VisitWithPatchedFirstStep(VisitWorkflow):
    """The same change, guarded: old histories take the old path."""

    @workflow.run
    async def run(self, data: c.VisitWorkflowInput) -> c.VisitResult:
        if workflow.patched("pause-before-start"):
            await workflow.sleep(1)
        return await super().run(data)


VISIT_HISTORY = Path(__file__).parent / "histories" / "visit-conversation-run1.json"


def test_a_determinism_breaking_change_fails_replay() -> None:
    replayer = Replayer(workflows=[VisitWithNewFirstStep])
    with pytest.raises(NondeterminismError):
        asyncio.run(replayer.replay_workflow(_history(VISIT_HISTORY)))


def test_the_same_change_behind_workflow_patched_replays() -> None:
    replayer = Replayer(workflows=[VisitWithPatchedFirstStep])
    asyncio.run(replayer.replay_workflow(_history(VISIT_HISTORY)))
