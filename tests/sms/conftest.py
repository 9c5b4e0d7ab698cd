"""SMS test fixtures: a small company (customer, product, sale, technician, planned visit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from domain.db import session_scope
from domain.models import SmsMessage
from domain.schemas import CustomerIn, ProductIn, SaleIn, StaffIn, VisitIn
from domain.services import (
    create_customer,
    create_product,
    create_staff,
    register_sale,
    request_visit,
)
from posventa.config import Settings
from sms.messenger import Messenger
from sms.outbox import OutboxGateway
from workflows.contracts import (
    CustomerReplyInput,
    CustomerReplyResult,
    SurveyAnswerInput,
    SurveyAnswerResult,
)

WINDOW_START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Madrid


@dataclass
class Company:
    customer_id: int
    phone: str
    sale_id: int
    visit_id: int
    staff_id: int


def make_company(
    engine: Engine, phone: str = "600 111 222", locale: str = "es", name: str = "Lucía Pérez"
) -> Company:
    with session_scope(engine) as s:
        customer = create_customer(
            s, CustomerIn(name=name, phone=phone, locale=locale, latitude=40.4, longitude=-3.7)
        )
        product = create_product(
            s,
            ProductIn(
                sku=f"OVEN-{customer.id}",
                name="Horno mixto Rational",
                installation_minutes=90,
                installation_skill="ovens",
            ),
        )
        staff = create_staff(
            s,
            StaffIn(name="Javier Gómez", skills=["ovens"], home_latitude=40.4, home_longitude=-3.7),
        )
        sale = register_sale(
            s, SaleIn(customer_id=customer.id, product_sku=product.sku, sold_on=date(2026, 11, 20))
        )
        visit = request_visit(
            s,
            VisitIn(
                sale_id=sale.id,
                kind="installation",
                business_key=f"sale-{sale.id}/installation",
                duration_minutes=90,
                earliest_date=date(2026, 11, 24),
            ),
        )
        visit.status = "awaiting_confirmation"
        visit.assigned_staff_id = staff.id
        visit.planned_start = WINDOW_START + timedelta(minutes=30)
        visit.promised_window_start = WINDOW_START
        visit.promised_window_end = WINDOW_START + timedelta(hours=2)
        s.add(visit)
        s.flush()
        return Company(customer.id, customer.phone, sale.id, visit.id, staff.id)


@dataclass
class RecordingWorkflows:
    """Stands in for the WorkflowGateway in pipeline unit tests: records what it is handed."""

    replies: list[tuple[int, CustomerReplyInput]] = field(default_factory=list)
    surveys: list[tuple[int, SurveyAnswerInput]] = field(default_factory=list)
    reply_result: CustomerReplyResult = field(
        default_factory=lambda: CustomerReplyResult(accepted=True, status="confirmed")
    )
    survey_result: SurveyAnswerResult = field(
        default_factory=lambda: SurveyAnswerResult(accepted=True, wants_comment=True)
    )
    raise_error: BaseException | None = None

    def customer_reply(self, visit_id: int, data: CustomerReplyInput) -> CustomerReplyResult:
        if self.raise_error is not None:
            raise self.raise_error
        self.replies.append((visit_id, data))
        return self.reply_result

    def survey_answer(self, sale_id: int, data: SurveyAnswerInput) -> SurveyAnswerResult:
        if self.raise_error is not None:
            raise self.raise_error
        self.surveys.append((sale_id, data))
        return self.survey_result


@pytest.fixture
def sms_settings(settings: Settings) -> Settings:
    return settings.replace(timezone="Europe/Madrid", default_region="ES")


@pytest.fixture
def company(engine: Engine) -> Company:
    return make_company(engine)


@pytest.fixture
def messenger(engine: Engine, sms_settings: Settings) -> Messenger:
    return Messenger(engine, OutboxGateway(engine, sms_settings), sms_settings)


def messages(engine: Engine, **where: object) -> list[SmsMessage]:
    from sqlmodel import Session, col, select

    with Session(engine) as s:
        query = select(SmsMessage).order_by(col(SmsMessage.id))
        for key, value in where.items():
            query = query.where(getattr(SmsMessage, key) == value)
        return list(s.exec(query))


@pytest.fixture(scope="session")
def dev_server_path() -> str:
    from tests.conftest import venv_binary

    return venv_binary("temporal")
