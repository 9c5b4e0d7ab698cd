"""The demo company: a Valencia seller of printers, boilers, air conditioners and accounting
software, with 8 technicians, 3 trainers and 60 sales at every stage of their after-sales life.

Seeding is deterministic (a fixed random seed) apart from the demo passwords, which are generated
once per data dir and written to a file only its owner can read: there is no default password.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from domain.db import session_scope
from domain.models import (
    Customer,
    Sale,
    SaleStage,
    SaleStatus,
    StaffRole,
    SurveyAnswer,
    UserRole,
    VisitKind,
    VisitStatus,
)
from domain.schemas import CustomerIn, ProductIn, SaleIn, StaffIn, VisitIn
from domain.services import (
    create_customer,
    create_product,
    create_staff,
    product_by_sku,
    register_sale,
    request_visit,
)
from domain.users import UserIn, create_user

TZ = ZoneInfo("Europe/Madrid")

# Real Valencia streets with the approximate coordinates of a point on them.
STREETS: list[tuple[str, float, float]] = [
    ("Calle de Colón", 39.4702, -0.3735),
    ("Gran Vía del Marqués del Turia", 39.4668, -0.3700),
    ("Avenida del Puerto", 39.4628, -0.3465),
    ("Calle de Cuba", 39.4610, -0.3760),
    ("Avenida de Blasco Ibáñez", 39.4770, -0.3530),
    ("Calle de Sueca", 39.4602, -0.3748),
    ("Avenida de Aragón", 39.4735, -0.3590),
    ("Calle de Russafa", 39.4660, -0.3745),
    ("Avenida del Cid", 39.4685, -0.4020),
    ("Calle de Jesús", 39.4645, -0.3830),
    ("Avenida de Pérez Galdós", 39.4700, -0.3920),
    ("Calle de Alboraya", 39.4830, -0.3680),
    ("Avenida de Tarongers", 39.4795, -0.3380),
    ("Calle de la Reina (Cabanyal)", 39.4700, -0.3300),
    ("Avenida de Burjassot", 39.4900, -0.3930),
    ("Calle de Sagunto", 39.4860, -0.3760),
    ("Avenida de Francia", 39.4610, -0.3430),
    ("Calle de San Vicente Mártir", 39.4610, -0.3850),
    ("Avenida del Professor López Piñero", 39.4520, -0.3520),
    ("Calle de Campoamor", 39.4770, -0.3450),
    ("Avenida de Primado Reig", 39.4810, -0.3620),
    ("Calle de Maestro Gozalbo", 39.4680, -0.3640),
    ("Avenida de Giorgeta", 39.4580, -0.3900),
    ("Calle de Marvà", 39.4630, -0.3975),
    ("Avenida de Campanar", 39.4800, -0.3990),
    ("Calle de Benimaclet", 39.4855, -0.3600),
    ("Camino de Vera", 39.4800, -0.3450),
    ("Avenida de Ausiàs March", 39.4450, -0.3700),
    ("Calle de Doctor Sanchis Bergón", 39.4750, -0.3850),
    ("Calle del Músico Peydró", 39.4720, -0.3790),
]

SPANISH_NAMES = [
    "Lucía Martínez",
    "Javier Ferrer",
    "Carmen Navarro",
    "Vicente Soler",
    "Amparo Ribes",
    "José Luis Gimeno",
    "Marta Llorens",
    "Pau Sanchis",
    "Inmaculada Boix",
    "Raúl Mestre",
    "Elena Puchades",
    "Sergio Climent",
    "Rosa Camarasa",
    "Andrés Tormo",
    "Nuria Alapont",
    "Francisco Peris",
    "Laura Vidal",
    "Miguel Ángel Roig",
    "Teresa Esteve",
    "Álvaro Mompó",
    "Cristina Lloret",
    "Jorge Aguilar",
    "Sofía Bosch",
    "Rafael Albiach",
    "Paula Ortega",
    "David Montesinos",
    "Irene Cervera",
    "Enrique Gil",
    "Silvia Pastor",
    "Óscar Sempere",
    "Patricia Ballester",
    "Manuel Badenes",
    "Eva Tarazona",
    "Héctor Alandete",
    "Beatriz Company",
    "Hostal Turia S.L.",
    "Gestoría Albufera",
    "Clínica Dental Russafa",
    "Panadería Ferrer",
    "Academia Levante",
    "Talleres Benimaclet",
    "Farmacia del Carmen",
    "Estudio Arquitectura Cid",
]
ENGLISH_NAMES = [
    "Emma Thompson",
    "Oliver Hughes",
    "Charlotte Evans",
    "James Walker",
    "Sophie Turner",
    "Daniel Clarke",
    "Hannah Wright",
    "Thomas Baker",
    "Grace Mitchell",
    "Benjamin Carter",
    "Olivia Bennett",
    "Harry Collins",
    "Emily Parker",
    "Jack Robinson",
    "Chloe Stewart",
    "Valencia Coworking Hub",
    "Mediterranean Yacht Services",
]

PRODUCTS = [
    ProductIn(
        sku="PRN-M40",
        name="Impresora multifunción láser M40",
        name_en="Multifunction laser printer M40",
        installation_minutes=90,
        installation_skill="printers",
        training_sessions=1,
        training_minutes=60,
        training_skill="printer_training",
        maintenance_interval_days=182,
        maintenance_minutes=45,
        maintenance_skill="printers",
        repair_minutes=60,
        repair_skill="printers",
        warranty_months=24,
        contract_months=36,
    ),
    ProductIn(
        sku="BOIL-CDX24",
        name="Caldera de condensación CDX 24 kW",
        name_en="Condensing boiler CDX 24 kW",
        installation_minutes=240,
        installation_skill="gas",
        maintenance_interval_days=365,
        maintenance_minutes=60,
        maintenance_skill="gas",
        repair_minutes=90,
        repair_skill="gas",
        warranty_months=24,
        contract_months=60,
    ),
    ProductIn(
        sku="AC-SPLIT35",
        name="Aire acondicionado split 3,5 kW",
        name_en="Split air conditioner 3.5 kW",
        installation_minutes=180,
        installation_skill="hvac",
        maintenance_interval_days=182,
        maintenance_minutes=60,
        maintenance_skill="hvac",
        repair_minutes=90,
        repair_skill="hvac",
        warranty_months=36,
        contract_months=36,
    ),
    ProductIn(
        sku="AC-CAS70",
        name="Climatizador cassette 7 kW (comercial)",
        name_en="Cassette air conditioner 7 kW (commercial)",
        installation_minutes=300,
        installation_skill="hvac",
        maintenance_interval_days=91,
        maintenance_minutes=75,
        maintenance_skill="hvac",
        repair_minutes=120,
        repair_skill="hvac",
        warranty_months=24,
        contract_months=24,
    ),
    ProductIn(
        sku="SW-CONTA",
        name="Conta Pro: software de contabilidad (licencia anual)",
        name_en="Conta Pro: accounting software (annual licence)",
        installation_minutes=60,
        installation_skill="networking",
        training_sessions=3,
        training_minutes=120,
        training_skill="software_training",
        repair_minutes=60,
        repair_skill="networking",
        warranty_months=12,
        contract_months=0,
    ),
    ProductIn(
        sku="SOLAR-5K",
        name="Kit fotovoltaico 5 kW (instalador externo)",
        name_en="Solar PV kit 5 kW (external installer)",
        installation_minutes=360,
        installation_skill="solar",
        maintenance_interval_days=365,
        maintenance_minutes=90,
        maintenance_skill="solar",
        repair_minutes=120,
        repair_skill="solar",
        warranty_months=60,
        contract_months=60,
    ),
]

TECHNICIANS = [
    ("Pablo Sanz", ["gas", "hvac"], "Calle de San Vicente Mártir 210", 39.4555, -0.3880),
    ("Marina Vidal", ["printers", "networking"], "Calle de Alboraya 44", 39.4835, -0.3685),
    ("Joan Martí", ["hvac", "electrical"], "Avenida del Cid 60", 39.4690, -0.4030),
    ("Rocío Beltrán", ["gas"], "Avenida del Puerto 150", 39.4620, -0.3450),
    ("Iván Moreno", ["printers"], "Calle de Sueca 30", 39.4600, -0.3745),
    ("Ángela Ruiz", ["hvac", "gas"], "Avenida de Burjassot 90", 39.4910, -0.3935),
    ("Toni Escrivà", ["networking", "printers"], "Camino de Vera 14", 39.4805, -0.3440),
    ("Nerea Calatayud", ["hvac"], "Avenida de Ausiàs March 20", 39.4455, -0.3705),
]
TRAINERS = [
    ("Lorena Castelló", ["software_training"], "Calle de Colón 50", 39.4705, -0.3730),
    (
        "Hugo Ferrando",
        ["software_training", "printer_training"],
        "Calle de Jesús 88",
        39.4640,
        -0.3835,
    ),
    ("Sara Monzó", ["printer_training"], "Avenida de Aragón 12", 39.4738, -0.3588),
]

DEMO_FAULTS = [
    "No enciende desde esta mañana.",
    "Hace un ruido fuerte al arrancar.",
    "Error E-21 en la pantalla.",
    "It leaks water onto the floor.",
]


@dataclass
class SeedResult:
    created: bool
    customers: int = 0
    staff: int = 0
    sales: int = 0
    repair_sale_ids: list[int] = field(default_factory=list)
    logins: list[str] | None = None

    def summary(self) -> str:
        if not self.created:
            return "demo data already present; nothing seeded"
        return (
            f"seeded demo company: {self.staff} staff, {self.customers} customers, "
            f"{self.sales} sales"
        )


def next_working_day(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


DEMO_TODAY_UNTIL = 16  # a fresh demo drafts today's plan too before this local hour


def days_to_draft(now: datetime) -> list[date]:
    """The days a freshly seeded demo drafts a plan for: the next working day and, on a working
    day before ``DEMO_TODAY_UNTIL`` (local ``now``), today as well, so that the day can be
    followed on the board and the phone page (check-ins, running late) the same day."""
    today = now.date()
    days = [next_working_day(today)]
    if today.weekday() < 5 and now.hour < DEMO_TODAY_UNTIL:
        days.insert(0, today)
    return days


def _staff_phone(index: int) -> str:
    """A staff member's mobile number (no random draw: the customers' stream stays as it was)."""
    return f"+34600100{index + 1:03d}"


def _phone(rng: random.Random) -> str:
    return f"+346{rng.randint(10_000_000, 99_999_999)}"


def _aware(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


def read_logins(path: Path) -> list[str]:
    """The demo logins written at seed time (empty when there are none)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]


def seed_demo(
    engine: Engine,
    force: bool = False,
    today: date | None = None,
    logins_path: Path | None = None,
) -> SeedResult:
    """Seed the demo company unless the database already has sales (or ``force``)."""
    with Session(engine) as s:
        if not force and s.exec(select(func.count()).select_from(Sale)).one() > 0:
            return SeedResult(created=False)
    today = today or datetime.now(TZ).date()
    rng = random.Random(20261123)
    result = SeedResult(created=True)
    passwords: dict[str, str] = {}

    with session_scope(engine) as s:
        for product in PRODUCTS:
            create_product(s, product, actor="demo")

        staff_ids: list[int] = []
        for name, skills, address, lat, lon in TECHNICIANS:
            member = create_staff(
                s,
                StaffIn(
                    name=name,
                    role=StaffRole.TECHNICIAN,
                    skills=skills,
                    email=_email(name),
                    phone=_staff_phone(len(staff_ids)),  # route texts (SMS simulator)
                    home_address=f"{address}, València",
                    home_latitude=lat,
                    home_longitude=lon,
                    work_start=time(8, 0),
                    work_end=time(17, 0) if lat > 39.46 else time(18, 0),
                ),
                actor="demo",
            )
            staff_ids.append(member.id)  # type: ignore[arg-type]
        for name, skills, address, lat, lon in TRAINERS:
            member = create_staff(
                s,
                StaffIn(
                    name=name,
                    role=StaffRole.TRAINER,
                    skills=skills,
                    email=_email(name),
                    phone=_staff_phone(len(staff_ids)),
                    home_address=f"{address}, València",
                    home_latitude=lat,
                    home_longitude=lon,
                    work_start=time(9, 0),
                    work_end=time(18, 0),
                    lunch_minutes=60,
                ),
                actor="demo",
            )
            staff_ids.append(member.id)  # type: ignore[arg-type]
        result.staff = len(staff_ids)
        staff_by_skill: dict[str | None, list[int]] = {None: staff_ids[: len(TECHNICIANS)]}
        for (_, skills, *_rest), member_id in zip(TECHNICIANS + TRAINERS, staff_ids, strict=True):
            for skill in skills:
                staff_by_skill.setdefault(skill, []).append(member_id)

        names = [(n, "es") for n in SPANISH_NAMES] + [(n, "en") for n in ENGLISH_NAMES]
        rng.shuffle(names)
        customers: list[Customer] = []
        for i, (name, locale) in enumerate(names[:60]):
            street, lat, lon = STREETS[i % len(STREETS)]
            customers.append(
                create_customer(
                    s,
                    CustomerIn(
                        name=name,
                        phone=_phone(rng),
                        locale=locale,
                        email=_email(name, "example.com"),
                        address=f"{street} {rng.randint(1, 180)}, València",
                        latitude=round(lat + rng.uniform(-0.0025, 0.0025), 6),
                        longitude=round(lon + rng.uniform(-0.0025, 0.0025), 6),
                    ),
                    actor="demo",
                )
            )
        result.customers = len(customers)

        stages = (
            ["installation"] * 14
            + ["training"] * 8
            + ["survey"] * 6
            + ["maintenance"] * 24
            + ["repair"] * 4
            + ["ended"] * 4
        )
        skus = ["PRN-M40", "BOIL-CDX24", "AC-SPLIT35", "AC-CAS70", "SW-CONTA"]
        for i, customer in enumerate(customers):
            stage = stages[i]
            sku = skus[i % len(skus)]
            if stage == "training":
                sku = rng.choice(["SW-CONTA", "PRN-M40"])
            if stage in {"maintenance", "repair"} and sku == "SW-CONTA":
                sku = "BOIL-CDX24"
            if i == 3:
                sku = "SOLAR-5K"  # nobody has the solar skill: the plan explains why it waits
            _seed_sale(s, rng, customer, sku, stage, today, staff_by_skill)
            if stage == "repair":
                result.repair_sale_ids.append(
                    s.exec(select(Sale.id).where(Sale.customer_id == customer.id)).one()
                )
        result.sales = len(customers)

        logins = [
            ("admin@posventa.demo", "Administración", UserRole.ADMIN, None),
            ("dispatcher@posventa.demo", "Elena (despacho)", UserRole.DISPATCHER, None),
            (_email(TECHNICIANS[0][0]), TECHNICIANS[0][0], UserRole.TECHNICIAN, staff_ids[0]),
            (_email(TRAINERS[0][0]), TRAINERS[0][0], UserRole.TECHNICIAN, staff_ids[8]),
        ]
        for email, name, role, staff_id in logins:
            password = secrets.token_urlsafe(12)
            passwords[email] = password
            create_user(
                s,
                UserIn(email=email, name=name, role=role, password=password, staff_id=staff_id),
                actor="demo",
            )

    lines = [f"{email}  {password}" for email, password in passwords.items()]
    result.logins = lines
    if logins_path is not None:
        logins_path.parent.mkdir(parents=True, exist_ok=True)
        logins_path.write_text("\n".join(lines) + "\n")
        logins_path.chmod(0o600)
    return result


def _email(name: str, domain: str = "posventa.demo") -> str:
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    parts = ascii_name.lower().replace(".", " ").split()
    local = ".".join(part for part in parts if part.isalnum())
    return f"{local}@{domain}"


def _seed_sale(
    s: Session,
    rng: random.Random,
    customer: Customer,
    sku: str,
    stage: str,
    today: date,
    staff_by_skill: dict[str | None, list[int]],
) -> None:
    """One sale with the history its stage implies.

    Only what already happened is written (completed visits, survey answers); the visits still to
    come are requested by the sale's lifecycle workflow once it starts, with the same business
    keys (``sale-<id>/<kind>-<n>``), so the workflow picks up exactly where the history ends.
    """
    product = product_by_sku(s, sku)
    ages = {
        "installation": rng.randint(1, 8),
        "training": rng.randint(10, 25),
        "survey": rng.randint(20, 40),
        "maintenance": rng.randint(60, 900),
        "repair": rng.randint(90, 500),
        "ended": rng.randint(1100, 1300),
    }
    sold_on = today - timedelta(days=ages[stage])
    sale = register_sale(
        s,
        SaleIn(
            customer_id=customer.id,
            product_sku=sku,
            sold_on=sold_on,  # type: ignore[arg-type]
            external_ref=f"ERP-{sold_on:%Y}-{customer.id:04d}",
        ),
        actor="demo",
    )
    assert sale.id is not None

    def done(kind: VisitKind, number: int, minutes: int, skill: str | None, when: date) -> None:
        v = request_visit(
            s,
            VisitIn(
                sale_id=sale.id,
                kind=kind,
                business_key=f"sale-{sale.id}/{kind.value}-{number}",
                sequence=number,
                duration_minutes=minutes,
                required_skills=[skill] if skill else [],
                earliest_date=when,
                description=f"{kind.value.capitalize()}: {product.name}",
            ),
            actor="demo",
        )
        v.status = VisitStatus.COMPLETED.value
        v.planned_start = _aware(when, rng.choice([9, 10, 11, 15, 16]))
        # who did it: one person per sale and kind (the same trainer for every session), drawn
        # from a stream of its own so the rest of the demo stays as it was
        capable = staff_by_skill.get(skill, [])
        if capable:
            who = random.Random(f"demo-staff/{sale.id}/{kind.value}")
            v.assigned_staff_id = who.choice(capable)
        v.outcome_note = "Hecho sin incidencias."
        # on site a little before or after the planned time (a stream of its own, as above)
        on_site = random.Random(f"demo-times/{sale.id}/{kind.value}-{number}")
        v.arrived_at = v.planned_start + timedelta(minutes=on_site.randint(-10, 35))
        v.finished_at = v.arrived_at + timedelta(minutes=minutes + on_site.randint(-10, 20))

    if stage == "installation":
        sale.stage = SaleStage.INSTALLATION.value
        return
    install_day = sold_on + timedelta(days=rng.randint(2, 6))
    if product.installation_minutes:
        done(
            VisitKind.INSTALLATION,
            1,
            product.installation_minutes,
            product.installation_skill,
            install_day,
        )
    if stage == "training":
        for n in range(1, rng.randint(0, max(0, product.training_sessions - 1)) + 1):
            done(
                VisitKind.TRAINING,
                n,
                product.training_minutes,
                product.training_skill,
                install_day + timedelta(days=2 * n),
            )
        sale.stage = SaleStage.TRAINING.value
        return
    for n in range(1, product.training_sessions + 1):
        done(
            VisitKind.TRAINING,
            n,
            product.training_minutes,
            product.training_skill,
            install_day + timedelta(days=2 * n),
        )
    if stage == "survey":
        sale.stage = SaleStage.SURVEY.value
        return
    answered_on = min(today, install_day + timedelta(days=2 * product.training_sessions + 3))
    s.add(
        SurveyAnswer(
            sale_id=sale.id,
            answered_at=_aware(answered_on, 19),
            score=rng.choice([4, 5, 5, 3, 5, 4]),
            comment=rng.choice(
                [None, "Muy profesionales.", "Great service, thanks!", "Llegaron puntuales."]
            ),
        )
    )
    if stage == "ended":
        sale.status = rng.choice([SaleStatus.COMPLETED, SaleStatus.CANCELLED]).value
        sale.stage = SaleStage.ENDED.value
        sale.ended_reason = "contract finished" if sale.status == "completed" else "customer moved"
        return
    interval = product.maintenance_interval_days
    if interval:
        rounds, day = 0, sold_on + timedelta(days=interval)
        while day <= today:
            rounds += 1
            done(
                VisitKind.MAINTENANCE,
                rounds,
                product.maintenance_minutes,
                product.maintenance_skill,
                day,
            )
            day += timedelta(days=interval)
    sale.stage = SaleStage.MAINTENANCE.value
