"""Staff pages: skills, hours, days off, calendar feed link (rotate its token)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import ValidationError
from sqlmodel import Session, col, select
from werkzeug.datastructures import MultiDict

from domain.db import session_scope
from domain.errors import DomainError, NotFound
from domain.geocoding import GeocodingError
from domain.models import Staff, StaffAbsence
from domain.schemas import AbsenceIn, StaffIn, validation_messages
from domain.services import add_absence, create_staff, update_staff
from domain.services import withdraw_absence as domain_withdraw_absence
from domain.visits import upcoming_visit_days
from web.auth import current_user, role_required
from web.board_view import days_with_plans
from web.day_links import with_day_links
from web.extensions import business_today, engine, settings
from web.locate import geocoder, locate_missing

bp = Blueprint("staff", __name__, url_prefix="/staff")

DISPATCH = ("admin", "dispatcher")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _errors(exc: ValidationError) -> list[str]:
    return validation_messages(exc, whole=_("form"))


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    today = business_today()
    with Session(engine()) as s:
        members = list(s.exec(select(Staff).order_by(col(Staff.active).desc(), Staff.name)))
        off = {
            a.staff_id
            for a in s.exec(
                select(StaffAbsence).where(
                    StaffAbsence.starts_on <= today, StaffAbsence.ends_on >= today
                )
            )
        }
    return render_template("staff/index.html", members=members, off=off, weekdays=WEEKDAYS)


def _staff_in(form: MultiDict[str, str]) -> StaffIn:
    """The form's staff member; raises ValidationError."""
    lunch = {}
    if "lunch_minutes" in form:  # the edit form; a new member gets the defaults
        minutes = form.get("lunch_minutes", "").strip() or "0"
        lunch = {
            "lunch_minutes": minutes,
            "lunch_earliest": (form.get("lunch_earliest") or None) if minutes != "0" else None,
            "lunch_latest": (form.get("lunch_latest") or None) if minutes != "0" else None,
        }
    return StaffIn(
        name=form.get("name", ""),
        email=form.get("email") or None,
        phone=form.get("phone") or None,
        role=form.get("role", "technician"),
        skills=[x for x in form.get("skills", "").replace(";", ",").split(",")],
        home_address=form.get("home_address", ""),
        home_latitude=form.get("home_latitude", ""),
        home_longitude=form.get("home_longitude", ""),
        work_start=form.get("work_start") or "08:00",
        work_end=form.get("work_end") or "17:00",
        working_days=[int(d) for d in form.getlist("working_days") if d.isdigit()],
        default_region=settings().default_region,
        **lunch,  # type: ignore[arg-type]
    )


def _form_fields(member: Staff) -> MultiDict[str, str]:
    """A stored staff member as the form shows it."""
    fields: MultiDict[str, str] = MultiDict()
    for key in ("name", "email", "phone", "role", "home_address", "lunch_minutes"):
        value = getattr(member, key)
        fields[key] = "" if value is None else str(value)
    fields["skills"] = ", ".join(member.skills)
    fields["home_latitude"], fields["home_longitude"] = (
        str(member.home_latitude),
        str(member.home_longitude),
    )
    for key in ("work_start", "work_end", "lunch_earliest", "lunch_latest"):
        value = getattr(member, key)
        fields[key] = value.strftime("%H:%M") if value is not None else ""
    for day in member.working_days:
        fields.add("working_days", str(day))
    if member.active:
        fields["active"] = "1"
    return fields


def _form_page(member: Staff | None):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    form: MultiDict[str, str] = request.form
    if request.method == "POST":
        try:
            home = None
            if member is not None:
                home = (member.home_address, member.home_latitude, member.home_longitude)
            form, located = locate_missing(
                form, "home_address", "home_latitude", "home_longitude", stored=home
            )
            data = _staff_in(form)
            active = member is None or bool(form.get("active"))
            with session_scope(engine()) as s:
                if member is None:
                    saved = create_staff(s, data, actor=current_user.email)
                else:
                    saved = update_staff(s, member.id, data, active, actor=current_user.email)  # type: ignore[arg-type]
                saved_id = saved.id
                days = []  # a new member has no visits yet
                if member is not None:
                    days = upcoming_visit_days(
                        s, business_today(), settings().timezone, staff_id=saved_id
                    )
            flash(_("Staff member saved.") if member else _("Staff member added."), "success")
            if located:
                flash(_("Address located: %(place)s", place=located), "info")
            if days:
                _say_days_to_replan(days)
            return redirect(url_for("staff.detail", staff_id=saved_id))
        except GeocodingError as exc:
            errors = [_("The address could not be located (%(why)s): enter its latitude and "
                        "longitude.", why=str(exc))]  # fmt: skip
        except ValidationError as exc:
            errors = _errors(exc)
        except DomainError as exc:
            errors = [str(exc)]
    elif member is not None:
        form = _form_fields(member)
    return render_template(
        "staff/form.html", errors=errors, form=form, weekdays=WEEKDAYS, member=member,
        geocoding=geocoder() is not None,
    ), (422 if errors else 200)  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@role_required(*DISPATCH)
def new():  # type: ignore[no-untyped-def]
    return _form_page(None)


@bp.route("/<int:staff_id>/edit", methods=["GET", "POST"])
@role_required(*DISPATCH)
def edit(staff_id: int):  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        member = s.get(Staff, staff_id)
    if member is None:
        abort(404)
    return _form_page(member)


@bp.get("/<int:staff_id>")
@role_required(*DISPATCH)
def detail(staff_id: int):  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        member = s.get(Staff, staff_id)
        if member is None:
            abort(404)
        absences = list(
            s.exec(
                select(StaffAbsence)
                .where(StaffAbsence.staff_id == staff_id)
                .order_by(col(StaffAbsence.starts_on).desc())
            )
        )
    return render_template(
        "staff/detail.html", member=member, absences=absences, weekdays=WEEKDAYS,
        today=business_today(), errors=[], feed=None,
    )  # fmt: skip


@bp.post("/<int:staff_id>/absences")
@role_required(*DISPATCH)
def absence(staff_id: int):  # type: ignore[no-untyped-def]
    try:
        data = AbsenceIn(
            staff_id=staff_id,
            starts_on=request.form.get("starts_on", ""),
            ends_on=request.form.get("ends_on") or request.form.get("starts_on", ""),
            reason=request.form.get("reason", ""),
        )
        with session_scope(engine()) as s:
            add_absence(s, data, actor=current_user.email)
            days = _days_to_replan(s, data, staff_id)
    except ValidationError as exc:
        flash("; ".join(_errors(exc)), "error")
    except DomainError as exc:
        abort(404, str(exc))
    else:
        flash(_("Day off recorded."), "success")
        if days:
            _say_days_to_replan(days)
    return redirect(url_for("staff.detail", staff_id=staff_id))


def _say_days_to_replan(days: list[date]) -> None:
    flash(with_day_links(_("Visits are planned for them on %(days)s: re-optimize those days "
                           "so that the plans follow the change."), days), "info")  # fmt: skip


def _days_to_replan(s: Session, data: AbsenceIn, staff_id: int | None) -> list[date]:
    """The days of an absence, from today on, whose plans (draft or approved) give the staff
    member visits (anyone, when None): the plans that must change."""
    first = max(data.starts_on, business_today())
    return days_with_plans(s, first, data.ends_on, visits_for=staff_id)


@bp.post("/<int:staff_id>/absences/<int:absence_id>/withdraw")
@role_required(*DISPATCH)
def withdraw_absence(staff_id: int, absence_id: int):  # type: ignore[no-untyped-def]
    """Take back a day off (entered by mistake, leave cancelled, back early)."""
    today = business_today()
    try:
        with session_scope(engine()) as s:
            absence = s.get(StaffAbsence, absence_id)
            last = absence.ends_on if absence is not None else today
            kept = domain_withdraw_absence(s, staff_id, absence_id, today, actor=current_user.email)
            days = days_with_plans(s, today, last)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        if kept is None:
            flash(_("Day off removed."), "success")
        else:
            flash(_("Day off ended: back at work from today."), "success")
        if days:
            flash(with_day_links(_("They are available again on days that already have a plan "
                                    "(%(days)s): re-optimize them to give them visits."),
                                  days), "info")  # fmt: skip
    return redirect(url_for("staff.detail", staff_id=staff_id))


@bp.post("/absences")
@role_required(*DISPATCH)
def absence_for_everyone():  # type: ignore[no-untyped-def]
    """A day off for every active staff member (a public holiday, a company closure)."""
    starts = request.form.get("starts_on", "")
    try:
        with session_scope(engine()) as s:
            members = list(s.exec(select(Staff.id).where(col(Staff.active).is_(True))))
            for member_id in members:
                data = AbsenceIn(
                    staff_id=member_id,
                    starts_on=starts,
                    ends_on=request.form.get("ends_on") or starts,
                    reason=request.form.get("reason", ""),
                )
                add_absence(s, data, actor=current_user.email)
            days = _days_to_replan(s, data, None) if members else []
    except ValidationError as exc:
        flash("; ".join(_errors(exc)), "error")
    else:
        flash(ngettext("Day off recorded for %(num)d staff member.",
                       "Day off recorded for %(num)d staff members.",
                       len(members)), "success")  # fmt: skip
        if days:
            flash(with_day_links(_("Visits are planned on %(days)s: re-optimize those days so "
                                    "that the plans follow the change."),
                                  days), "info")  # fmt: skip
    return redirect(url_for("staff.index"))


@bp.post("/<int:staff_id>/feed")
@role_required(*DISPATCH)
def rotate_feed(staff_id: int):  # type: ignore[no-untyped-def]
    """Issue a new calendar feed link (the old one stops working); shown once."""
    from calendars.tokens import rotate_feed_token
    from calendars.urls import subscribe_links

    with session_scope(engine()) as s:
        member = s.get(Staff, staff_id)
        if member is None:
            abort(404)
        token = rotate_feed_token(s, staff_id, actor=current_user.email)
        name = member.name
    with Session(engine()) as s:
        member = s.get(Staff, staff_id)
        absences = list(s.exec(select(StaffAbsence).where(StaffAbsence.staff_id == staff_id)))
    response = render_template(
        "staff/detail.html", member=member, absences=absences, weekdays=WEEKDAYS,
        today=business_today(), errors=[], feed=subscribe_links(settings(), token, name),
    )  # fmt: skip
    return response, 200, {"Cache-Control": "no-store"}
