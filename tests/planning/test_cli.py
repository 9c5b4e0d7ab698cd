"""``posventa plan`` commands against a real database."""

from __future__ import annotations

import json

from click.testing import CliRunner

from planning.cli import plan
from tests.planning.conftest import World


def test_draft_show_diff_approve(tiny_world: World, database_url: str, tmp_path) -> None:
    runner = CliRunner()
    env = {
        "POSVENTA_DATABASE_URL": database_url,
        "POSVENTA_DATA_DIR": str(tmp_path),
        "POSVENTA_TIMEZONE": "Europe/Madrid",
    }
    drafted = runner.invoke(plan, ["draft", "2026-12-07", "--seconds", "1"], env=env)
    assert drafted.exit_code == 0, drafted.output
    result = json.loads(drafted.stdout)
    assert (result["assigned"], result["unassigned"]) == (3, 1)

    shown = runner.invoke(plan, ["show", "2026-12-07"], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"plan {result['plan_id']} v1 draft" in shown.output
    assert "not planned" in shown.output and "laser" in shown.output

    diff = runner.invoke(plan, ["diff", str(result["plan_id"])], env=env)
    assert json.loads(diff.stdout)["added"] == sorted(
        tiny_world.visits[n] for n in ("north", "south", "east")
    )

    approved = runner.invoke(plan, ["approve", str(result["plan_id"]), "--by", "d@x.es"], env=env)
    assert approved.exit_code == 0, approved.output
    assert len(json.loads(approved.stdout)["visits"]) == 3

    bad = runner.invoke(plan, ["approve", "999999", "--by", "d@x.es"], env=env)
    assert bad.exit_code != 0 and "unknown plan 999999" in bad.output
    nodate = runner.invoke(plan, ["draft", "7/12/2026"], env=env)
    assert nodate.exit_code != 0 and "not a date" in nodate.output
