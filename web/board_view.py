"""What the plan board shows for one day, computed from the database in a few queries.

The board is read-only here: it turns a :class:`~domain.models.DailyPlan` with its stops and
unassigned visits into timeline rows (positions in percent of the working day), an SVG map
(web-Mercator pixels, optionally over map tiles) and the day's figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from domain.lifecycle import next_working_day
from domain.models import (
    SCHEDULED_VISIT_STATUSES,
    Customer,
    DailyPlan,
    PlanStatus,
    PlanStop,
    PlanUnassigned,
    Sale,
    SmsDirection,
    SmsMessage,
    Staff,
    Visit,
    VisitStatus,
)
from planning.lateness import Lateness, StopTimes, running_late
from sms.messenger import OFFICE_TEMPLATE
from web.reasons import reason_text

PALETTE = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
]  # fmt: skip

MAP_WIDTH = 800
MAP_HEIGHT = 560
TILE = 256


@dataclass
class Block:
    """One visit or break on a staff member's timeline."""

    kind: str  # visit kind, or "break"
    left: float
    width: float
    travel_left: float
    travel_width: float
    start: datetime
    end: datetime
    visit_id: int | None = None
    label: str = ""
    status: str = ""
    confirmed: bool = False
    progress: str = ""  # on the day: "on_site", "done" or "failed" (see visit_progress)
    pinned: bool = False
    moved: bool = False
    locked: bool = False
    customer: str = ""
    address: str = ""
    travel_minutes: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    start_label: str = ""  # local HH:MM
    end_label: str = ""
    window_label: str = ""
    expected_label: str = ""  # on the way: the arrival the technician announced (HH:MM)


@dataclass
class Row:
    staff_id: int
    name: str
    role: str
    colour: str
    blocks: list[Block] = field(default_factory=list)
    visits: int = 0
    travel_seconds: int = 0
    travel_metres: int = 0
    busy_minutes: int = 0
    shift_minutes: int = 0


@dataclass
class UnassignedItem:
    visit_id: int
    kind: str
    customer: str
    address: str
    duration_minutes: int
    reason_code: str
    reason: str  # as stored: English
    priority: int
    reason_params: dict[str, Any] | None = None  # its facts (None: stored before they were kept)

    @property
    def reason_text(self) -> str:
        """The reason in the current locale (see :mod:`web.reasons`)."""
        return reason_text(self.reason_code, self.reason_params, self.reason)


@dataclass
class MapRoute:
    staff_id: int
    colour: str
    staff_name: str
    points: str  # SVG polyline points
    home: tuple[float, float]
    stops: list[tuple[float, float, int, str, bool]]  # x, y, visit id, kind, confirmed


@dataclass
class MapTile:
    href: str
    x: float
    y: float


@dataclass
class MapView:
    width: int
    height: int
    routes: list[MapRoute]
    unassigned: list[tuple[float, float, int]]
    tiles: list[MapTile]
    km_px: float = 0.0  # length of the scale bar in pixels
    km_label: str = ""


@dataclass
class Figures:
    visits_planned: int = 0
    unassigned: int = 0
    travel_minutes: int = 0
    travel_km: float = 0.0
    utilisation: float = 0.0  # share of shift time spent at visits, 0-1
    confirmed_share: float = 0.0
    confirmed: int = 0
    done: int = 0  # reported done (or failed) on the day
    on_site: int = 0  # technicians at the customer's now

    def as_dict(self) -> dict[str, Any]:
        return {
            "visits_planned": self.visits_planned,
            "unassigned": self.unassigned,
            "travel_minutes": self.travel_minutes,
            "travel_km": round(self.travel_km, 1),
            "utilisation": round(self.utilisation, 3),
            "confirmed": self.confirmed,
            "confirmed_share": round(self.confirmed_share, 3),
            "done": self.done,
            "on_site": self.on_site,
        }


@dataclass
class Board:
    plan_date: date
    plan: DailyPlan | None
    approved: DailyPlan | None
    plans: list[DailyPlan]
    rows: list[Row]
    unassigned: list[UnassignedItem]
    figures: Figures
    map: MapView
    hours: list[tuple[float, str]]
    staff_choices: list[tuple[int, str]]
    day_start_minute: int = 8 * 60  # local minute of the day at the timeline's left edge
    span_minutes: int = 600  # minutes the timeline spans
    lateness: Lateness = field(default_factory=Lateness)
    at_risk: list[AtRisk] = field(default_factory=list)  # customers to warn, latest first
    now_minute: int | None = None  # today: the local minute now, where the timeline shows it


@dataclass(frozen=True)
class AtRisk:
    """A visit the technician will likely reach after the window promised to its customer."""

    visit_id: int
    sale_id: int
    customer: str
    staff: str
    window_end_label: str
    minutes_past: int
    expected_label: str = ""  # the arrival to tell the customer (five-minute steps)
    texted_label: str = ""  # when the customer was last told today (office or "on my way")


STOP_COLUMNS = (
    PlanStop.staff_id, PlanStop.visit_id, PlanStop.kind, PlanStop.sequence, PlanStop.arrival,
    PlanStop.start, PlanStop.end, PlanStop.travel_seconds, PlanStop.travel_metres,
    PlanStop.window_start, PlanStop.window_end, PlanStop.locked, PlanStop.moved,
)  # fmt: skip
VISIT_COLUMNS = (
    Visit.id, Visit.kind, Visit.status, Visit.pinned_staff_id, Visit.pinned_start,
    Visit.duration_minutes, Visit.priority, Visit.arrived_at, Visit.finished_at,
    Visit.expected_at, Visit.sale_id,
    Sale.customer_id, Customer.name, Customer.address, Customer.latitude, Customer.longitude,
)  # fmt: skip
REPORTED_STATUSES = (VisitStatus.COMPLETED.value, VisitStatus.FAILED.value)
#: The texts that tell a customer when the technician will come, on the day.
TELLING_TEMPLATES = (OFFICE_TEMPLATE, "visit_on_the_way", "visit_delayed")


def plans_for_day(session: Session, plan_date: date) -> list[DailyPlan]:
    """All plans of the day, newest version first."""
    return list(
        session.exec(
            select(DailyPlan)
            .where(DailyPlan.plan_date == plan_date)
            .order_by(col(DailyPlan.version).desc())
        )
    )


def days_with_plans(
    session: Session, first: date, last: date, visits_for: int | None = None
) -> list[date]:
    """The days from ``first`` to ``last`` that have a plan still in use (draft or approved);
    with ``visits_for``, only those whose plan gives that staff member visits."""
    query = select(DailyPlan.plan_date).where(
        col(DailyPlan.plan_date) >= first,
        col(DailyPlan.plan_date) <= last,
        DailyPlan.status != PlanStatus.SUPERSEDED.value,
    )
    if visits_for is not None:
        query = query.join(PlanStop, col(PlanStop.plan_id) == col(DailyPlan.id)).where(
            PlanStop.staff_id == visits_for, PlanStop.kind == "visit"
        )
    return sorted(session.exec(query.distinct()))


def choose_plan(plans: list[DailyPlan], plan_id: int | None) -> DailyPlan | None:
    """The requested plan, else the newest draft newer than the approved one, else the approved."""
    if plan_id is not None:
        return next((p for p in plans if p.id == plan_id), None)
    live = [p for p in plans if p.status != PlanStatus.SUPERSEDED]
    return live[0] if live else (plans[0] if plans else None)


def approved_plan(plans: list[DailyPlan]) -> DailyPlan | None:
    return next((p for p in plans if p.status == PlanStatus.APPROVED), None)


def awaits_approval(plans: list[DailyPlan]) -> bool:
    """Whether the day's current plan is a draft nobody has approved yet."""
    plan = choose_plan(plans, None)
    return plan is not None and plan.status == PlanStatus.DRAFT


def opening_day(session: Session, today: date) -> date:
    """The day the board opens on: today, unless today has no draft waiting for approval and
    the next working day has one (the daily planning drafts it in the afternoon)."""
    if awaits_approval(plans_for_day(session, today)):
        return today
    following = next_working_day(today)
    return following if awaits_approval(plans_for_day(session, following)) else today


def _mercator(lat: float, lon: float) -> tuple[float, float]:
    """Web-Mercator world coordinates in [0, 1]."""
    lat = max(min(lat, 85.0), -85.0)
    x = (lon + 180.0) / 360.0
    s = math.sin(math.radians(lat))
    y = 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)
    return x, y


class _Projection:
    """Fits a set of coordinates into the map's pixels at the largest whole zoom level."""

    def __init__(self, coords: list[tuple[float, float]], width: int, height: int) -> None:
        world = [_mercator(lat, lon) for lat, lon in coords] or [_mercator(39.47, -0.376)]
        xs = [p[0] for p in world]
        ys = [p[1] for p in world]
        span_x = max(max(xs) - min(xs), 1e-6)
        span_y = max(max(ys) - min(ys), 1e-6)
        pad = 0.9
        zoom = math.log2(min(width * pad / (span_x * TILE), height * pad / (span_y * TILE)))
        self.zoom = max(0, min(18, math.floor(zoom)))
        self.scale = TILE * 2**self.zoom
        cx = (max(xs) + min(xs)) / 2 * self.scale
        cy = (max(ys) + min(ys)) / 2 * self.scale
        self.ox = cx - width / 2
        self.oy = cy - height / 2
        self.width = width
        self.height = height
        centre_y = (max(ys) + min(ys)) / 2
        self.centre_lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * centre_y))))

    def scale_bar(self) -> tuple[float, str]:
        """A round distance drawn 60-160 px long, and its label."""
        metres_per_px = 40075016.686 * math.cos(math.radians(self.centre_lat)) / self.scale
        for km in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
            px = km * 1000 / metres_per_px
            if px >= 60:
                label = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
                return round(px, 1), label
        return 160.0, f"{160 * metres_per_px / 1000:.0f} km"

    def __call__(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = _mercator(lat, lon)
        return round(x * self.scale - self.ox, 1), round(y * self.scale - self.oy, 1)

    def tiles(self, template: str) -> list[MapTile]:
        if not template:
            return []
        n = 2**self.zoom
        first_x = math.floor(self.ox / TILE)
        first_y = math.floor(self.oy / TILE)
        last_x = math.floor((self.ox + self.width) / TILE)
        last_y = math.floor((self.oy + self.height) / TILE)
        out = []
        for tx in range(first_x, last_x + 1):
            for ty in range(max(first_y, 0), min(last_y, n - 1) + 1):
                href = template.format(z=self.zoom, x=tx % n, y=ty, s="a")
                out.append(MapTile(href, tx * TILE - self.ox, ty * TILE - self.oy))
        return out


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def build_board(
    session: Session,
    plan_date: date,
    timezone: str,
    plan_id: int | None = None,
    tile_url: str = "",
    now: datetime | None = None,
) -> Board:
    """Everything the board page needs for ``plan_date`` (a plan id picks an older version);
    ``now`` when the day is today (see :func:`planning.lateness.running_late`)."""
    tz = ZoneInfo(timezone)
    plans = plans_for_day(session, plan_date)
    plan = choose_plan(plans, plan_id)
    approved = approved_plan(plans)
    all_staff = list(session.exec(select(Staff).where(Staff.active).order_by(Staff.name)))
    staff_by_id = {s.id: s for s in all_staff}
    stops: list[Any] = []  # rows with PlanStop's columns (no ORM instances: the board is big)
    unassigned_rows: list[PlanUnassigned] = []
    if plan is not None:
        stops = list(
            session.exec(
                select(*STOP_COLUMNS)
                .where(PlanStop.plan_id == plan.id)
                .order_by(col(PlanStop.staff_id), col(PlanStop.sequence))
            )
        )
        unassigned_rows = list(
            session.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == plan.id))
        )
    visit_ids = {s.visit_id for s in stops if s.visit_id} | {u.visit_id for u in unassigned_rows}
    visits: dict[int, Any] = {}  # visit id -> row with the visit's and its customer's columns
    customers: dict[int, Any] = {}
    if visit_ids:
        rows = session.exec(
            select(*VISIT_COLUMNS)
            .join(Sale, col(Sale.id) == col(Visit.sale_id))
            .join(Customer, col(Customer.id) == col(Sale.customer_id))
            .where(col(Visit.id).in_(visit_ids))
        )
        for row in rows:
            visits[row.id] = row
            customers[row.id] = row
        for sid in {s.staff_id for s in stops} - set(staff_by_id):
            extra = session.get(Staff, sid)
            if extra is not None:
                staff_by_id[sid] = extra

    # The timeline spans the earliest shift start to the latest shift end of the staff shown.
    routed_ids = sorted({s.staff_id for s in stops}, key=lambda i: staff_by_id[i].name)
    shown = [staff_by_id[i] for i in routed_ids] or all_staff
    day_start = min((_minutes(s.work_start) for s in shown), default=8 * 60)
    day_end = max((_minutes(s.work_end) for s in shown), default=18 * 60)
    for stop in stops:  # never clip a stop outside the shifts
        day_start = min(day_start, _local_minutes(stop.arrival - _td(stop.travel_seconds), tz))
        day_end = max(day_end, _local_minutes(stop.end, tz))
    day_start = (day_start // 60) * 60
    day_end = -(-day_end // 60) * 60
    span = max(day_end - day_start, 60)

    def pct(minutes: float) -> float:
        return round((minutes - day_start) * 100.0 / span, 3)

    hours = [(pct(m), f"{m // 60:02d}:00") for m in range(day_start, day_end + 1, 60)]

    rows_by_staff: dict[int, Row] = {}
    for index, sid in enumerate(routed_ids):
        member = staff_by_id[sid]
        shift = _minutes(member.work_end) - _minutes(member.work_start)
        rows_by_staff[sid] = Row(
            staff_id=sid,
            name=member.name,
            role=member.role,
            colour=PALETTE[index % len(PALETTE)],
            shift_minutes=max(shift - (member.lunch_minutes if member.lunch_earliest else 0), 0),
        )
    figures = Figures()
    for stop in stops:
        row = rows_by_staff[stop.staff_id]
        start_m = _local_minutes(stop.start, tz)
        end_m = _local_minutes(stop.end, tz)
        arrival_m = _local_minutes(stop.arrival, tz)
        travel_m = stop.travel_seconds / 60.0
        block = Block(
            kind=stop.kind,
            left=pct(start_m),
            width=max(pct(end_m) - pct(start_m), 0.3),
            travel_left=pct(arrival_m - travel_m),
            travel_width=round(travel_m * 100.0 / span, 3),
            start=stop.start,
            end=stop.end,
            locked=stop.locked,
            moved=stop.moved,
            travel_minutes=round(travel_m),
            window_start=stop.window_start,
            window_end=stop.window_end,
            start_label=_hhmm(stop.start, tz),
            end_label=_hhmm(stop.end, tz),
        )
        if stop.window_start and stop.window_end:
            block.window_label = f"{_hhmm(stop.window_start, tz)}–{_hhmm(stop.window_end, tz)}"
        row.travel_seconds += stop.travel_seconds
        row.travel_metres += stop.travel_metres
        if stop.kind == "visit" and stop.visit_id in visits:
            visit = visits[stop.visit_id]
            customer = customers[stop.visit_id]
            block.kind = visit.kind
            block.visit_id = visit.id
            block.status = visit.status
            block.confirmed = visit.status == VisitStatus.CONFIRMED
            block.progress = visit_progress(visit.status, visit.arrived_at)
            if visit.expected_at is not None and not block.progress:
                block.expected_label = _hhmm(visit.expected_at, tz)
            figures.done += block.progress in ("done", "failed")
            figures.on_site += block.progress == "on_site"
            block.pinned = visit.pinned_staff_id is not None or visit.pinned_start is not None
            block.customer = customer.name
            block.address = customer.address
            block.label = f"{customer.name}"
            row.visits += 1
            row.busy_minutes += round((stop.end - stop.start).total_seconds() / 60)
            figures.visits_planned += 1
            figures.confirmed += int(block.confirmed)
        elif stop.kind != "visit":
            block.kind = "break"
            block.label = ""
        row.blocks.append(block)
        figures.travel_minutes += round(stop.travel_seconds / 60)
        figures.travel_km += stop.travel_metres / 1000.0
    rows = [rows_by_staff[i] for i in routed_ids]
    total_shift = sum(r.shift_minutes for r in rows)
    figures.utilisation = sum(r.busy_minutes for r in rows) / total_shift if total_shift else 0.0
    figures.confirmed_share = (
        figures.confirmed / figures.visits_planned if figures.visits_planned else 0.0
    )

    unassigned = []
    for u in unassigned_rows:
        visit = visits.get(u.visit_id)
        customer = customers.get(u.visit_id)
        if visit is None or customer is None:
            continue
        unassigned.append(
            UnassignedItem(
                visit_id=u.visit_id,
                kind=visit.kind,
                customer=customer.name,
                address=customer.address,
                duration_minutes=visit.duration_minutes,
                reason_code=u.reason_code,
                reason=u.reason,
                priority=visit.priority,
                reason_params=u.reason_params,
            )
        )
    unassigned.sort(key=lambda u: (-u.priority, u.visit_id))
    figures.unassigned = len(unassigned)

    map_view = _build_map(rows, stops, staff_by_id, visits, customers, unassigned, tile_url)
    lateness = running_late([
        _stop_times(stop.visit_id, stop.staff_id, stop.sequence, stop.arrival, stop.start,
                    stop.end, stop.window_end, visits[stop.visit_id].status,
                    visits[stop.visit_id].arrived_at, visits[stop.visit_id].finished_at,
                    visits[stop.visit_id].expected_at, visits[stop.visit_id].duration_minutes)
        for stop in stops if stop.kind == "visit" and stop.visit_id in visits
    ], now)  # fmt: skip
    windows = {stop.visit_id: stop.window_end for stop in stops if stop.visit_id}
    staff_of = {stop.visit_id: stop.staff_id for stop in stops if stop.visit_id}
    texted = _texted_since(
        session, {customers[vid].customer_id for vid in lateness.at_risk},
        datetime.combine(plan_date, time(0), tz),
    )  # fmt: skip
    at_risk = sorted(
        (
            AtRisk(
                visit_id=vid, sale_id=visits[vid].sale_id, customer=customers[vid].name,
                staff=staff_by_id[staff_of[vid]].name,
                window_end_label=_hhmm(windows[vid], tz) if windows[vid] else "",
                minutes_past=minutes,
                expected_label=_hhmm(_next_five(windows[vid] + timedelta(minutes=minutes)), tz)
                if windows[vid] else "",
                texted_label=_hhmm(texted[customers[vid].customer_id], tz)
                if customers[vid].customer_id in texted else "",
            )
            for vid, minutes in lateness.at_risk.items()
        ),
        key=lambda item: -item.minutes_past,
    )  # fmt: skip
    return Board(
        plan_date=plan_date,
        plan=plan,
        approved=approved,
        plans=plans,
        rows=rows,
        unassigned=unassigned,
        figures=figures,
        map=map_view,
        hours=hours,
        day_start_minute=day_start,
        span_minutes=span,
        staff_choices=[(s.id, s.name) for s in all_staff if s.id is not None],
        lateness=lateness,
        at_risk=at_risk,
        now_minute=_local_minutes(now, tz) if now is not None else None,
    )


def _next_five(moment: datetime) -> datetime:
    """``moment`` rounded up to five minutes (an arrival time to promise)."""
    whole = moment.replace(second=0, microsecond=0)
    if whole < moment:
        whole += timedelta(minutes=1)
    return whole + timedelta(minutes=-whole.minute % 5)


def _td(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _texted_since(session: Session, customer_ids: set[int], since: datetime) -> dict[int, datetime]:
    """Customer id -> the latest text since ``since`` that told them when the technician comes
    (the office's own, or the technician's "on my way")."""
    if not customer_ids:
        return {}
    latest = func.max(SmsMessage.created_at).label("latest")
    rows = session.exec(
        select(SmsMessage.customer_id, latest)
        .where(col(SmsMessage.customer_id).in_(customer_ids),
               col(SmsMessage.template).in_(TELLING_TEMPLATES),
               SmsMessage.direction == SmsDirection.OUTBOUND.value,
               col(SmsMessage.created_at) >= since)
        .group_by(col(SmsMessage.customer_id))
    )  # fmt: skip
    return {cid: when for cid, when in rows if cid is not None and when is not None}


def _hhmm(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def _local_minutes(moment: datetime, tz: ZoneInfo) -> int:
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def _build_map(
    rows: list[Row],
    stops: list[Any],
    staff_by_id: dict[Any, Staff],
    visits: dict[int, Any],
    customers: dict[int, Any],
    unassigned: list[UnassignedItem],
    tile_url: str,
) -> MapView:
    coords: list[tuple[float, float]] = []
    by_staff: dict[int, list[Any]] = defaultdict(list)
    for stop in stops:
        if stop.kind == "visit" and stop.visit_id in customers:
            by_staff[stop.staff_id].append(stop)
            c = customers[stop.visit_id]
            coords.append((c.latitude, c.longitude))
    for row in rows:
        member = staff_by_id[row.staff_id]
        coords.append((member.home_latitude, member.home_longitude))
    for item in unassigned:
        c = customers[item.visit_id]
        coords.append((c.latitude, c.longitude))
    proj = _Projection(coords, MAP_WIDTH, MAP_HEIGHT)
    routes = []
    for row in rows:
        member = staff_by_id[row.staff_id]
        home = proj(member.home_latitude, member.home_longitude)
        points = [home]
        marks = []
        for stop in by_staff.get(row.staff_id, []):
            c = customers[stop.visit_id]  # type: ignore[index]
            xy = proj(c.latitude, c.longitude)
            points.append(xy)
            visit = visits[stop.visit_id]  # type: ignore[index]
            assert visit.id is not None
            marks.append((xy[0], xy[1], visit.id, visit.kind, visit.status == "confirmed"))
        points.append(home)
        routes.append(
            MapRoute(
                staff_id=row.staff_id,
                colour=row.colour,
                staff_name=row.name,
                points=" ".join(f"{x},{y}" for x, y in points),
                home=home,
                stops=marks,
            )
        )
    loose = []
    for item in unassigned:
        c = customers[item.visit_id]
        x, y = proj(c.latitude, c.longitude)
        loose.append((x, y, item.visit_id))
    km_px, km_label = proj.scale_bar()
    return MapView(MAP_WIDTH, MAP_HEIGHT, routes, loose, proj.tiles(tile_url), km_px, km_label)


def visit_progress(status: str, arrived_at: datetime | None) -> str:
    """Where a planned visit stands on its day: "done" or "failed" once reported, "on_site"
    while the technician is there (checked in), "" before."""
    if status == VisitStatus.COMPLETED:
        return "done"
    if status == VisitStatus.FAILED:
        return "failed"
    if arrived_at is not None and status in SCHEDULED_VISIT_STATUSES:
        return "on_site"
    return ""


def _stop_times(
    visit_id: int, staff_id: int, sequence: int, arrival: datetime, start: datetime,
    end: datetime, window_end: datetime | None, status: str, arrived_at: datetime | None,
    finished_at: datetime | None, expected_at: datetime | None, duration_minutes: int,
) -> StopTimes:  # fmt: skip
    """A planned visit's times as the running-late check reads them (page and poll alike)."""
    return StopTimes(
        visit_id, staff_id, sequence, start, window_end, arrived_at,
        reported=status in REPORTED_STATUSES, planned_arrival=arrival, planned_end=end,
        finished_at=finished_at, expected_at=expected_at,
        duration=timedelta(minutes=duration_minutes),
    )  # fmt: skip


def board_status(session: Session, plan_date: date, now: datetime | None = None) -> dict[str, Any]:
    """The small JSON the board polls: plan versions, each planned visit's status and where
    it stands on the day (``progress``: only visits that have one)."""
    plans = plans_for_day(session, plan_date)
    plan = choose_plan(plans, None)
    statuses: dict[str, str] = {}
    progress: dict[str, str] = {}
    lateness = Lateness()
    confirmed = 0
    if plan is not None:
        rows = session.exec(
            select(Visit.id, Visit.status, Visit.arrived_at, Visit.finished_at,
                   Visit.expected_at, Visit.duration_minutes, PlanStop.staff_id,
                   PlanStop.sequence, PlanStop.arrival, PlanStop.start, PlanStop.end,
                   PlanStop.window_end)
            .join(PlanStop, col(PlanStop.visit_id) == col(Visit.id))
            .where(PlanStop.plan_id == plan.id)
        )  # fmt: skip
        times = []
        for (vid, status, arrived_at, finished_at, expected_at, minutes, staff_id, sequence,
             arrival, start, end, window_end) in rows:  # fmt: skip
            statuses[str(vid)] = status
            confirmed += int(status == VisitStatus.CONFIRMED)
            if stage := visit_progress(status, arrived_at):
                progress[str(vid)] = stage
            times.append(_stop_times(vid, staff_id, sequence, arrival, start, end, window_end,
                                     status, arrived_at, finished_at, expected_at,
                                     minutes))  # fmt: skip
        lateness = running_late(times, now)
    planned = len(statuses)
    approved = approved_plan(plans)
    return {
        "plan_date": plan_date.isoformat(),
        "plan_id": plan.id if plan else None,
        "plan_status": plan.status if plan else None,
        "approved_plan_id": approved.id if approved else None,
        "latest_plan_id": plans[0].id if plans else None,
        "visits": statuses,
        "progress": progress,
        "done": sum(stage in ("done", "failed") for stage in progress.values()),
        "on_site": sum(stage == "on_site" for stage in progress.values()),
        "late": {str(k): v for k, v in lateness.delay_minutes.items()},  # staff id -> minutes
        "at_risk": {str(k): v for k, v in lateness.at_risk.items()},  # visit id -> minutes
        "confirmed": confirmed,
        "visits_planned": planned,
        "confirmed_share": round(confirmed / planned, 3) if planned else 0.0,
        "at": datetime.now(UTC).isoformat(),
    }


def plan_counts(session: Session, plan_id: int) -> tuple[int, int]:
    """(visits assigned, visits unassigned) in a stored plan."""
    assigned = session.exec(
        select(func.count())
        .select_from(PlanStop)
        .where(PlanStop.plan_id == plan_id, PlanStop.kind == "visit")
    ).one()
    unassigned = session.exec(
        select(func.count()).select_from(PlanUnassigned).where(PlanUnassigned.plan_id == plan_id)
    ).one()
    return int(assigned), int(unassigned)
