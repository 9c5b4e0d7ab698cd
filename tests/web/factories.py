"""Small, readable data for the web tests (and a large day for the board benchmark).

A plan here is written as rows (DailyPlan, PlanStop, PlanUnassigned) exactly as the planning
service stores them, so the board can be tested on its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from domain.db import session_scope
from domain.models import (
    DailyPlan,
    PlanStatus,
    PlanStop,
    PlanUnassigned,
    StaffRole,
    UserRole,
    Visit,
    VisitKind,
    VisitStatus,
)
from domain.schemas import CustomerIn, ProductIn, SaleIn, StaffIn, VisitIn
from domain.services import (
    create_customer,
    create_product,
    create_staff,
    register_sale,
    request_visit,
)
from domain.users import UserIn, create_user

TZ = ZoneInfo("Europe/Madrid")


def _tuesday_after_a_week(today: date) -> date:
    day = today + timedelta(days=7)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return day


# The planned day: a Tuesday at least a week ahead (the board plans only today and later).
PLAN_DAY = _tuesday_after_a_week(datetime.now(TZ).date())
NEXT_DAY = PLAN_DAY + timedelta(days=1)
PASSWORD = "correct horse battery"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), TZ).astimezone(UTC)


@dataclass
class World:
    """Ids of what :func:`make_world` created."""

    staff: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role name -> email
    sales: list[int] = field(default_factory=list)
    visits: list[int] = field(default_factory=list)
    plan_id: int | None = None
    unassigned_visit: int | None = None
    customers: list[int] = field(default_factory=list)


def make_world(engine: Engine, with_plan: bool = True) -> World:
    """Two staff (a technician, a trainer), three sales, a draft plan with one visit unassigned.

    Accounts: admin, dispatcher, tech (Ana, staff), trainer (Bea, staff); password PASSWORD.
    """
    w = World()
    with session_scope(engine) as s:
        create_product(
            s,
            ProductIn(
                sku="BOIL-1", name="Boiler", installation_minutes=90,
                installation_skill="boiler", training_sessions=1, training_minutes=60,
                training_skill="boiler_training", warranty_months=24,
            ),
        )  # fmt: skip
        ana = create_staff(
            s,
            StaffIn(
                name="Ana Técnica", role=StaffRole.TECHNICIAN, skills=["boiler"],
                home_latitude=39.47, home_longitude=-0.38,
            ),
        )  # fmt: skip
        bea = create_staff(
            s,
            StaffIn(
                name="Bea Formadora", role=StaffRole.TRAINER, skills=["boiler_training"],
                home_latitude=39.48, home_longitude=-0.36, work_start=time(9, 0),
                work_end=time(18, 0),
            ),
        )  # fmt: skip
        w.staff = {"ana": ana.id, "bea": bea.id}  # type: ignore[dict-item]
        for email, role, staff_id in (
            ("admin@example.com", UserRole.ADMIN, None),
            ("dispatcher@example.com", UserRole.DISPATCHER, None),
            ("ana@example.com", UserRole.TECHNICIAN, ana.id),
            ("bea@example.com", UserRole.TECHNICIAN, bea.id),
        ):
            create_user(
                s,
                UserIn(
                    email=email, name=email.split("@")[0].title(), role=role,
                    password=PASSWORD, staff_id=staff_id, locale="en",
                ),
            )  # fmt: skip
        w.users = {
            "admin": "admin@example.com",
            "dispatcher": "dispatcher@example.com",
            "technician": "ana@example.com",
            "trainer": "bea@example.com",
        }
        people = [
            ("Carmen Ruiz", 39.46, -0.37),
            ("David Soler", 39.49, -0.39),
            ("Eva Pons", 39.45, -0.35),
        ]
        for i, (name, lat, lon) in enumerate(people):
            customer = create_customer(
                s,
                CustomerIn(
                    name=name, phone=f"+3461234567{i}", latitude=lat, longitude=lon,
                    address=f"Calle {i + 1}, València",
                ),
            )  # fmt: skip
            w.customers.append(customer.id)  # type: ignore[arg-type]
            sale = register_sale(
                s, SaleIn(customer_id=customer.id, product_sku="BOIL-1", sold_on=PLAN_DAY)
            )
            w.sales.append(sale.id)  # type: ignore[arg-type]
            kind = VisitKind.TRAINING if i == 1 else VisitKind.INSTALLATION
            visit = request_visit(
                s,
                VisitIn(
                    sale_id=sale.id, kind=kind, business_key=f"sale-{sale.id}/{kind.value}-1",
                    duration_minutes=60 if i == 1 else 90,
                    required_skills=["boiler_training" if i == 1 else "boiler"],
                    earliest_date=PLAN_DAY,
                ),
            )  # fmt: skip
            w.visits.append(visit.id)  # type: ignore[arg-type]
        s.flush()
        if with_plan:
            plan = DailyPlan(plan_date=PLAN_DAY, version=1, status=PlanStatus.DRAFT.value)
            s.add(plan)
            s.flush()
            w.plan_id = plan.id
            v_ana, v_bea, v_loose = w.visits
            s.add(
                PlanStop(
                    plan_id=plan.id, staff_id=ana.id, visit_id=v_ana, kind="visit", sequence=1,
                    arrival=at(PLAN_DAY, 8, 20), start=at(PLAN_DAY, 9, 0),
                    end=at(PLAN_DAY, 10, 30), travel_seconds=1200, travel_metres=9000,
                    window_start=at(PLAN_DAY, 9), window_end=at(PLAN_DAY, 11),
                )
            )  # fmt: skip
            s.add(
                PlanStop(
                    plan_id=plan.id, staff_id=ana.id, visit_id=None, kind="break", sequence=2,
                    arrival=at(PLAN_DAY, 13), start=at(PLAN_DAY, 13), end=at(PLAN_DAY, 13, 45),
                )
            )  # fmt: skip
            s.add(
                PlanStop(
                    plan_id=plan.id, staff_id=bea.id, visit_id=v_bea, kind="visit", sequence=1,
                    arrival=at(PLAN_DAY, 9, 40), start=at(PLAN_DAY, 10, 0),
                    end=at(PLAN_DAY, 11, 0), travel_seconds=900, travel_metres=6000,
                )
            )  # fmt: skip
            s.add(
                PlanUnassigned(
                    plan_id=plan.id, visit_id=v_loose, reason_code="no_time",
                    reason="No technician with the skill boiler has time left that day",
                )
            )  # fmt: skip
            for vid, staff_id, hh in ((v_ana, ana.id, 9), (v_bea, bea.id, 10)):
                visit = s.get(Visit, vid)
                visit.status = VisitStatus.PLANNED.value
                visit.assigned_staff_id = staff_id
                visit.planned_start = at(PLAN_DAY, hh)
            w.unassigned_visit = v_loose
    return w


def make_big_day(engine: Engine, staff_count: int = 50, visit_count: int = 500) -> int:
    """A plan for PLAN_DAY with ``staff_count`` routes and ``visit_count`` visits; its id."""
    rng = random.Random(7)
    with session_scope(engine) as s:
        create_product(
            s,
            ProductIn(sku="BIG-1", name="Boiler", installation_minutes=40,
                      installation_skill="boiler"),
        )  # fmt: skip
        staff_ids = []
        for i in range(staff_count):
            member = create_staff(
                s,
                StaffIn(
                    name=f"Técnico {i:02d}", skills=["boiler"],
                    home_latitude=39.47 + rng.uniform(-0.08, 0.08),
                    home_longitude=-0.38 + rng.uniform(-0.08, 0.08),
                ),
            )  # fmt: skip
            staff_ids.append(member.id)
        plan = DailyPlan(plan_date=PLAN_DAY, version=1, status=PlanStatus.DRAFT.value)
        s.add(plan)
        s.flush()
        per_staff = visit_count * 9 // (10 * staff_count)  # 90 % routed, the rest unassigned
        unassigned = visit_count - per_staff * staff_count
        for n in range(visit_count):
            customer = create_customer(
                s,
                CustomerIn(
                    name=f"Cliente {n:03d}", phone=f"+3465{n:07d}",
                    latitude=39.47 + rng.uniform(-0.1, 0.1),
                    longitude=-0.38 + rng.uniform(-0.1, 0.1), address=f"Calle {n}",
                ),
            )  # fmt: skip
            sale = register_sale(
                s, SaleIn(customer_id=customer.id, product_sku="BIG-1", sold_on=PLAN_DAY)
            )
            visit = request_visit(
                s,
                VisitIn(
                    sale_id=sale.id, kind=VisitKind.INSTALLATION,
                    business_key=f"big-{n}", duration_minutes=40,
                    required_skills=["boiler"], earliest_date=PLAN_DAY,
                ),
            )  # fmt: skip
            if rng.random() < 0.4:
                visit.status = VisitStatus.CONFIRMED.value
            staff_index = n // per_staff if per_staff else staff_count
            if staff_index >= staff_count or n >= visit_count - unassigned:
                s.add(
                    PlanUnassigned(
                        plan_id=plan.id, visit_id=visit.id, reason_code="no_time",
                        reason="no staff member has time left",
                    )
                )  # fmt: skip
                continue
            seq = n % per_staff
            start = at(PLAN_DAY, 8) + timedelta(minutes=15 + seq * 50)
            s.add(
                PlanStop(
                    plan_id=plan.id, staff_id=staff_ids[staff_index], visit_id=visit.id,
                    kind="visit", sequence=seq + 1, arrival=start - timedelta(minutes=2),
                    start=start, end=start + timedelta(minutes=40), travel_seconds=600,
                    travel_metres=4000,
                )
            )  # fmt: skip
        for staff_id in staff_ids:
            s.add(
                PlanStop(
                    plan_id=plan.id, staff_id=staff_id, kind="break", sequence=99,
                    arrival=at(PLAN_DAY, 13), start=at(PLAN_DAY, 13), end=at(PLAN_DAY, 13, 45),
                )
            )  # fmt: skip
        return plan.id  # type: ignore[return-value]
