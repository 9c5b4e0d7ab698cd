"""A tiny field-service world for planning tests: built with the domain services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain import services
from domain.db import session_scope
from domain.errors import NotFound
from domain.models import StaffBusy, Visit, VisitKind
from domain.schemas import (
    AbsenceIn,
    CustomerIn,
    ProductIn,
    SaleIn,
    StaffIn,
    VisitIn,
    WindowIn,
)
from posventa.config import Settings

MONDAY = date(2026, 12, 7)  # a plain Monday, no daylight-saving change
SPRING_FORWARD = date(2027, 3, 28)  # Europe/Madrid: 02:00 -> 03:00 (23-hour day)
FALL_BACK = date(2026, 10, 25)  # Europe/Madrid: 03:00 -> 02:00 (25-hour day)

# Madrid: the two technicians live in the centre; customers a few km away.
CENTRE = (40.4168, -3.7038)
PLACES = {
    "north": (40.4500, -3.6900),
    "south": (40.3900, -3.7000),
    "east": (40.4200, -3.6600),
    "west": (40.4150, -3.7400),
}


@dataclass
class World:
    """Ids of what the tests created, by name."""

    engine: Engine
    staff: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    sales: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    _phone: int = 0

    def add_staff(self, name: str, skills: list[str], **extra: object) -> int:
        data = StaffIn(
            name=name,
            skills=skills,
            home_latitude=CENTRE[0],
            home_longitude=CENTRE[1],
            **extra,  # type: ignore[arg-type]
        )
        with session_scope(self.engine) as session:
            staff = services.create_staff(session, data)
            assert staff.id is not None
            self.staff[name] = staff.id
        return self.staff[name]

    def add_customer(self, name: str, place: str) -> int:
        self._phone += 1
        lat, lon = PLACES[place]
        data = CustomerIn(
            name=name, phone=f"+3461200{self._phone:04d}", latitude=lat, longitude=lon
        )
        with session_scope(self.engine) as session:
            customer = services.create_customer(session, data)
            product = _product(session)
            sale = services.register_sale(
                session, SaleIn(customer_id=customer.id, product_sku=product, sold_on=MONDAY)
            )
            assert customer.id is not None and sale.id is not None
            self.customers[name] = customer.id
            self.sales[name] = sale.id
        return self.sales[name]

    def add_visit(
        self,
        name: str,
        customer: str,
        skills: list[str],
        *,
        minutes: int = 60,
        earliest: date = MONDAY,
        windows: list[WindowIn] | None = None,
        kind: VisitKind = VisitKind.REPAIR,
        **extra: object,
    ) -> int:
        data = VisitIn(
            sale_id=self.sales[customer],
            kind=kind,
            business_key=f"test/{name}",
            duration_minutes=minutes,
            required_skills=skills,
            earliest_date=earliest,
            windows=windows or [],
            **extra,  # type: ignore[arg-type]
        )
        with session_scope(self.engine) as session:
            visit = services.request_visit(session, data)
            assert visit.id is not None
            self.visits[name] = visit.id
        return self.visits[name]

    def absent(self, staff: str, day: date, reason: str = "sick") -> None:
        with session_scope(self.engine) as session:
            services.add_absence(
                session,
                AbsenceIn(staff_id=self.staff[staff], starts_on=day, ends_on=day, reason=reason),
            )

    def busy(self, staff: str, start: datetime, end: datetime) -> None:
        with session_scope(self.engine) as session:
            session.add(
                StaffBusy(staff_id=self.staff[staff], starts_at=start, ends_at=end, source_uid="x")
            )

    def update_visit(self, name: str, **changes: object) -> None:
        with session_scope(self.engine) as session:
            visit = session.get(Visit, self.visits[name])
            assert visit is not None
            for key, value in changes.items():
                setattr(visit, key, value)
            session.add(visit)

    def visit(self, name: str) -> Visit:
        with Session(self.engine) as session:
            visit = session.get(Visit, self.visits[name])
            assert visit is not None
            return visit

    def name_of(self, visit_id: int) -> str:
        return next(k for k, v in self.visits.items() if v == visit_id)


def _product(session: Session) -> str:
    sku = "HEATPUMP-1"
    try:
        services.product_by_sku(session, sku)
    except NotFound:
        services.create_product(
            session,
            ProductIn(
                sku=sku,
                name="Heat pump",
                installation_minutes=120,
                installation_skill="install",
                repair_minutes=60,
                repair_skill="repair",
            ),
        )
    return sku


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(start: str, end: str, day: date | None = None) -> WindowIn:
    return WindowIn(day=day, start=time.fromisoformat(start), end=time.fromisoformat(end))


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


@pytest.fixture
def plan_settings(settings: Settings) -> Settings:
    """Madrid business time, a two-hour promised arrival window, haversine travel."""
    return settings.replace(timezone="Europe/Madrid", arrival_window_minutes=120, osrm_url="")


def populate_tiny(world: World) -> World:
    """Two technicians, four visits on MONDAY; ``laser`` is a skill nobody has.

    - ana: install + repair; ben: install only
    - north (install), south (install), east (repair: only ana), west (laser: nobody)
    """
    world.add_staff("ana", ["install", "repair"])
    world.add_staff("ben", ["install"])
    for place in PLACES:
        world.add_customer(place, place)
    world.add_visit("north", "north", ["install"])
    world.add_visit("south", "south", ["install"])
    world.add_visit("east", "east", ["repair"])
    world.add_visit("west", "west", ["laser"])
    return world


@pytest.fixture
def tiny_world(world: World) -> World:
    return populate_tiny(world)


@pytest.fixture
def pg_tiny_world(pg_engine: Engine) -> World:
    """The tiny world on PostgreSQL only (concurrency tests)."""
    return populate_tiny(World(pg_engine))
